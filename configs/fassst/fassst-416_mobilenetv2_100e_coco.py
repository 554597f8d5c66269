# FASSST-416 (paper default): MobileNetV2, head depth 5, 416 x 416 input (aspect ratio not
# kept, as YOLO), n = 36, RFF; batch 8, 100 epochs, lr 0.005 (paper Sec. 4.1). The optimiser
# (SGD, momentum 0.9, weight decay 1e-4), warm-up and LR steps are the project's choice.
_base_ = [
    '../_base_/models/fassst_mobilenetv2.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
image_scale = (416, 416)
backend_args = None
train_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_scale, keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=8, num_workers=4, batch_sampler=None,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 100
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[70, 90],
         gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.005, momentum=0.9, weight_decay=0.0001))
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=8)
