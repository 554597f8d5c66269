# SipMask++ R-101-DCN: deformable convs in every 3rd block of stages 2-4, plus the mask
# re-scoring head (segm score = predicted mask IoU x det score). Paper Table 1 "SipMask++".
_base_ = './sipmask-rt_r101-caffe_fpn_6x_coco.py'
model = dict(
    backbone=dict(
        type='ResNetIntervalDCN',
        dcn_interval=3,
        # 'DCNFast': mmcv's DCN (same weights) with the fast PyTorch path on CPU
        dcn=dict(type='DCNFast', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)),
    mask_head=dict(rescoring=dict(num_classes=80)))
