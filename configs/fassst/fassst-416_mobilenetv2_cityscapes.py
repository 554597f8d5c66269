# FASSST-416 on Cityscapes: as fassst-768_mobilenetv2_cityscapes.py at 416 x 416, from the
# COCO FASSST-416 model.
_base_ = './fassst-768_mobilenetv2_cityscapes.py'
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
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
load_from = 'work_dirs/fassst-416_mobilenetv2_100e_coco/epoch_100.pth'
