# FASSST-768 on Cityscapes (paper Sec. 4.2, Tables 3-4, 8): 8 thing classes, n = 49, input
# 768 x 768 (aspect ratio not kept), initialised from the COCO FASSST-768 model (Table 8:
# +5.3 AP; the 80-class prediction conv is skipped on load, size mismatch). mmdet's Cityscapes
# dataset, RepeatDataset x8 and metrics (COCO-style bbox / segm + the official Cityscapes
# instance metric); schedule as mmdet's Mask R-CNN Cityscapes config (8 x 8 epochs, LR step
# at epoch 7), lr 0.005 for batch 8 (the paper's COCO lr). Layout: data/cityscapes/ as mmdet
# (tools/dataset_converters/cityscapes.py of mmdet makes the annotations).
_base_ = [
    '../_base_/models/fassst_mobilenetv2.py', 'mmdet::_base_/datasets/cityscapes_instance.py',
    '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmsgnet'], allow_failed_imports=False)
image_scale = (768, 768)
num_instances = 49
model = dict(
    bbox_head=dict(num_classes=8, num_instances=num_instances),
    test_cfg=dict(max_per_img=num_instances))
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
                        dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=8)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[7], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))
load_from = 'work_dirs/fassst-768_mobilenetv2_100e_coco/epoch_100.pth'
