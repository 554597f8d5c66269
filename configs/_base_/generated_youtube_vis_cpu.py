# Generated YouTube-VIS-format videos at 160x128 with a CPU training recipe (iterations,
# AdamW, an infinite sampler), shared by the small video configs.
_base_ = ['./datasets/generated_youtube_vis.py', './default_runtime.py']
image_scale = (160, 128)
train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=1,
         filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='StrictLoadImageFromFile'),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=image_scale, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='StrictLoadImageFromFile'),
            dict(type='Resize', scale=image_scale, keep_ratio=True),
            dict(type='LoadTrackAnnotations', with_mask=True),
        ]),
    dict(type='PackTrackInputs')
]
# videos drawn at random, a random key frame each (InfiniteSampler: mmengine pauses 2 s at
# every restart of a finite sampler)
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True), batch_sampler=None,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 1200
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-5)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters),
    visualization=dict(type='TrackVisualizationHook', draw=False))
visualizer = dict(type='TrackLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
