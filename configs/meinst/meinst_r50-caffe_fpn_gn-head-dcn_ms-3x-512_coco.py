# MEInst R-50 "3x_512" (AdelaiDet MEInst_R_50_3x_512): as the 3x config, trained at short side
# 384-544 (step 32) and tested at 512; the long side is capped at 853 (= 512 x 1333 / 800).
_base_ = './meinst_r50-caffe_fpn_gn-head-dcn_ms-3x_coco.py'
train_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(853, s) for s in range(384, 545, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(853, 512), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
