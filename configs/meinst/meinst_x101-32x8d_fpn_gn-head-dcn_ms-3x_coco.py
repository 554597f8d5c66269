# MEInst ResNeXt-101 (32x8d, detectron2 weights) with the deformable last convs, 36 epochs,
# multi-scale training ("aug.", paper Table 8): the R-50 3x schedule and pipeline.
_base_ = './meinst_r50-caffe_fpn_gn-head-dcn_ms-3x_coco.py'
model = dict(
    data_preprocessor=dict(std=[57.375, 57.120, 58.395]),
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=32,
        base_width=8,
        style='pytorch',
        init_cfg=dict(type='Pretrained',
                      checkpoint='open-mmlab://detectron2/resnext101_32x8d')),
    bbox_head=dict(deform_last_conv=True))
