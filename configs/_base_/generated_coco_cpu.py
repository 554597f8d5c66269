# Generated COCO-format images at 160x128 with a CPU training recipe (iterations, AdamW, an
# infinite sampler), shared by the small image configs (SipMask, MEInst, FASSST). Each config
# restates its schedule with its own ``max_iters`` (train_cfg, param_scheduler and the
# checkpoint interval): mmengine evaluates a base's derived values when it reads the base.
_base_ = [
    './datasets/generated_coco_instance.py', './schedules/schedule_1x.py', './default_runtime.py'
]
image_scale = (160, 128)
train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='StrictLoadImageFromFile'),
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
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(
    logger=dict(interval=50),
    visualization=dict(type='DetVisualizationHook', draw=False))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
