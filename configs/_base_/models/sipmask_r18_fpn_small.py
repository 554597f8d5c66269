# A small SipMask for CPU runs on the generated data: ResNet-18 from scratch (BN), 64-channel
# FPN and head (2 stacked convs), 3 classes, regress ranges for ~160x128 inputs.
_base_ = './sipmask_r50-caffe_fpn_gn-head.py'
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[128, 256, 512], out_channels=64, start_level=0),
    bbox_head=dict(num_classes=3, in_channels=64, feat_channels=64, stacked_convs=2,
                   coeff_init_std=0.05,
                   regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256), (256, 1e8))),
    mask_head=dict(in_channels=64, basis_channels=128, loss_mask_weight=2.0),
    test_cfg=dict(score_thr=0.1, max_per_img=20))
