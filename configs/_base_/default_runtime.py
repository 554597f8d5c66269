# Runtime shared by every mmsgnet config (mmdet's default runtime). The plugin import,
# custom_imports = dict(imports=['mmsgnet'], allow_failed_imports=False), lives in the dataset
# configs of configs/_base_/datasets/ (mmengine refuses the same key in two bases).
default_scope = 'mmdet'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))

# mmsgnet's checks (mmsgnet/engine/hooks): heads' num_classes against the dataset's classes
# (before training, validation and testing); a checkpoint given to test or resume must hold
# every weight of the model; '{work_dir}' in a metric's outfile_prefix is the run's work dir
custom_hooks = [
    dict(type='NumClassesCheckHook'),
    dict(type='CheckpointCheckHook'),
    dict(type='WorkDirOutputsHook')
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
