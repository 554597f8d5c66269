# Small FASSST on the generated COCO-format data (configs/_base_/datasets/
# generated_coco_instance.py says how to generate it): MobileNetV2 x0.5 from scratch, 64-ch
# IAM and mask tail, a = 8 (32 x 32 masks), 160 x 128 images, n = 36, AdamW; trains on 2 CPU
# cores in minutes. For smoke tests and the learning test, not for accuracy numbers.
_base_ = [
    '../_base_/models/fassst_mobilenetv2.py', '../_base_/datasets/generated_coco_instance.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
image_scale = (160, 128)
model = dict(
    backbone=dict(widen_factor=0.5, init_cfg=None),
    bbox_head=dict(num_classes=3, in_channels=48, feat_channels=64),
    mask_head=dict(rff=dict(in_channels=(16, 48, 1280), out_channels=64, roi_size=8),
                   conv_channels=64),
    test_cfg=dict(score_thr=0.1, max_per_img=20))
train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
# InfiniteSampler: mmengine pauses 2 s at every restart of a finite sampler
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False, batch_sampler=None,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(filter_cfg=dict(filter_empty_gt=True, min_size=8), pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 600
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-5)
]
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters),
    visualization=dict(type='DetVisualizationHook', draw=False))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
