# SG-Net R-50 + FPN P3-P7 (Liu et al., CVPR 2021), YouTube-VIS (40 classes).
model = dict(
    type='SGNet',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=32),
    detector=dict(
        type='SingleStageInstanceSegmentor',
        backbone=dict(
            type='ResNet',
            depth=50,
            num_stages=4,
            out_indices=(1, 2, 3),
            frozen_stages=1,
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=True,
            style='pytorch',
            init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
        neck=dict(
            type='FPN',
            in_channels=[512, 1024, 2048],
            out_channels=256,
            start_level=0,
            add_extra_convs='on_output',
            num_outs=5,
            relu_before_extra_convs=True),
        bbox_head=dict(
            type='SGNetHead',
            num_classes=40,
            in_channels=256,
            feat_channels=256,
            stacked_convs=4,
            strides=[8, 16, 32, 64, 128],
            norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
            center_sampling=True,
            center_sample_radius=1.5,
            norm_on_bbox=True,
            centerness_on_reg=True,
            max_division=6,  # G
            attention_dim=1,  # d: one scalar attention score per sub-region
            feature_align=True,
            with_track=True,
            loss_cls=dict(
                type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            loss_bbox=dict(type='LogGIoULoss', loss_weight=1.0),
            loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
        mask_head=dict(
            type='SGNetMaskHead',
            in_channels=256,
            feat_levels=(0, 1, 2),  # P3-P5
            feat_channels=128,
            max_division=6,
            attention_dim=1,
            division_size=50,  # S: r = min(G, ceil(side / S))
            upsample_factor=4,
            mask_weighting='none'),
        test_cfg=dict(
            nms_pre=200,
            min_bbox_size=0,
            score_thr=0.03,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=10,
            mask_thr_binary=0.5)),
    loss_track=dict(type='L1Loss', loss_weight=1.0),
    tracker=dict(
        type='CenternessTracker',
        num_frames_retain=10,
        center_mode='centerness',
        match_label=False))
