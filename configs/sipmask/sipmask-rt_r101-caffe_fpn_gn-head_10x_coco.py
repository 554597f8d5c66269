# Real-time SipMask R-101 with GN in the head ("10x").
_base_ = './sipmask-rt_r50-caffe_fpn_gn-head_10x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron/resnet101_caffe')))
