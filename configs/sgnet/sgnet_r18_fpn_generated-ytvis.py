# Small SG-Net on the generated YouTube-VIS-format videos (configs/_base_/datasets/
# generated_youtube_vis.py says how to generate them): ResNet-18 from scratch, 64-channel
# FPN/head, G=4, 160x128 frames, AdamW; trains on 2 CPU cores in minutes. For smoke tests and
# the learning test, not for accuracy numbers.
_base_ = [
    '../_base_/models/sgnet_r50_fpn.py', '../_base_/datasets/generated_youtube_vis.py',
    '../_base_/default_runtime.py'
]
image_scale = (160, 128)
model = dict(
    detector=dict(
        backbone=dict(
            _delete_=True,
            type='ResNet',
            depth=18,
            num_stages=4,
            out_indices=(1, 2, 3),
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=False,
            init_cfg=None),
        neck=dict(in_channels=[128, 256, 512], out_channels=64),
        bbox_head=dict(
            num_classes=3, in_channels=64, feat_channels=64, stacked_convs=2, max_division=4,
            regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256), (256, 1e8))),
        mask_head=dict(in_channels=64, feat_channels=64, max_division=4, division_size=16,
                       loss_mask_weight=2.0),
        # class-agnostic NMS: an undertrained small model may detect one object as two classes
        test_cfg=dict(nms_pre=200, score_thr=0.2, max_per_img=10,
                      nms=dict(type='nms', iou_threshold=0.5, class_agnostic=True))),
    # weak detections (duplicates, clutter) do not start tracks
    tracker=dict(num_frames_retain=5, init_score_thr=0.2))
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
            dict(type='LoadImageFromFile'),
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
