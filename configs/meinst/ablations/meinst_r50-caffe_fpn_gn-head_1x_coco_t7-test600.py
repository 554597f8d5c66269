# Paper Table 7: the no-DCN model (trained at 800) tested at short side 600 (long side <= 999,
# the 1333 / 800 ratio).
_base_ = '../meinst_r50-caffe_fpn_gn-head_1x_coco.py'
test_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(999, 600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
