# SipMask++ R-101-DCN with GN in the head ("10x").
_base_ = './sipmask-rt_r101-caffe_fpn_gn-head_10x_coco.py'
model = dict(
    backbone=dict(
        type='ResNetIntervalDCN',
        dcn_interval=3,
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)),
    mask_head=dict(rescoring=dict(num_classes=80)))
