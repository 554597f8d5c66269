# Real-time SipMask R-101 ("6x").
_base_ = './sipmask-rt_r50-caffe_fpn_6x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron/resnet101_caffe')))
