# SG-Net R-50 on YouTube-VIS 2019, 640x360, 12 epochs (paper Table 1: 34.8 AP).
_base_ = [
    '../_base_/models/sgnet_r50_fpn.py', '../_base_/datasets/youtube_vis_2019.py',
    '../_base_/default_runtime.py'
]
# tracking pairs (paper Eq. 4): frame t and the previous annotated frame t-1; the first frame
# of a video is its own reference and adds no movement loss (PreviousFrameSample.first_frame)
train_pipeline = [
    dict(type='PreviousFrameSample', first_frame='no_movement'),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='StrictLoadImageFromFile'),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=(640, 360), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_begin=13)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(visualization=dict(type='TrackVisualizationHook', draw=False))
visualizer = dict(type='TrackLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
