# MEInst R-101 with the deformable last convs, 12 epochs, single scale (paper Table 8).
_base_ = './meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
