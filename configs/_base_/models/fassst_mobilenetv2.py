# FASSST with MobileNetV2 (paper: "MobileNet-54-V2"), head depth 5, n = 36 (COCO), RFF a = 14.
# mmdet's MobileNetV2 ``out_indices`` count its stages from 0 (index k = stage k + 1):
# 2 = stage 3 (32 ch, stride 8), 4 = stage 5 (96 ch, stride 16), 7 = the final 1x1 conv
# (1280 ch, stride 32; after stage 7). Head depth 5: E is the output of stage 5 (index 4;
# bbox_head.in_index selects it among the outputs); the pyramid mask layers are the stride
# 8 / 16 / 32 outputs (the last feature of each stride, so every backbone layer is used).
model = dict(
    type='FASSST',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        pad_mask=True),
    backbone=dict(
        type='MobileNetV2',
        out_indices=(2, 4, 7),
        act_cfg=dict(type='ReLU6'),
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=None,
    bbox_head=dict(
        type='FASSSTHead',
        num_classes=80,
        in_channels=96,
        in_index=1,
        num_instances=36,
        feat_channels=256,
        num_convs=9,
        conv_strides=(1, 2, 1, 1, 1, 1, 1, 1),
        grid_convs=2,
        grid_pool='avg',
        neighbourhood=False,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.25),
        loss_loc=dict(type='GIoULoss', loss_weight=3.0)),
    mask_head=dict(
        type='FASSSTMaskHead',
        in_indices=(0, 1, 2),
        rff=dict(type='RoIFeatureFusion', in_channels=(32, 96, 1280), strides=(8, 16, 32),
                 out_channels=256, roi_size=14, fuse=True),
        num_convs=5,
        conv_channels=256,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        roi_jitter=0.1,
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, activate=True, naive_dice=True,
                       eps=1e-3, loss_weight=5.75)),
    test_cfg=dict(
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=36,
        mask_thr_binary=0.5))
