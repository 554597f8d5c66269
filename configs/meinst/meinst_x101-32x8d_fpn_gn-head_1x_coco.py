# MEInst ResNeXt-101 (32x8d, detectron2 weights) without the deformable last convs, 12 epochs,
# single scale (paper Table 8).
_base_ = './meinst_r50-caffe_fpn_gn-head_1x_coco.py'
model = dict(
    data_preprocessor=dict(std=[57.375, 57.120, 58.395]),
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=32,
        base_width=8,
        style='pytorch',
        init_cfg=dict(type='Pretrained',
                      checkpoint='open-mmlab://detectron2/resnext101_32x8d')))
