# MEInst R-50 (caffe, detectron2 MSRA weights) + FPN P3-P7 (P6/P7 from P5) + MEInst heads,
# COCO (80 classes), no deformable conv ("none"). The PCA components are read from
# `components_file` (see configs/meinst/README section in the project README: fit them with
# tools/dataset_converters/mask_components.py or use the authors' COCO file).
model = dict(
    type='MEInst',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False,
        pad_size_divisor=32,
        pad_mask=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='caffe',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',  # P6 from P5, P7 from relu(P6)
        num_outs=5,
        relu_before_extra_convs=True),
    bbox_head=dict(
        type='MEInstHead',
        num_classes=80,
        in_channels=256,
        feat_channels=256,
        stacked_convs=4,
        num_mask_convs=4,
        num_params=60,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        conv_bias=True,  # AdelaiDet's tower convs have a bias before GN
        center_sampling=True,
        center_sample_radius=1.5,
        norm_on_bbox=True,
        centerness_on_reg=True,
        deform_last_conv=False,
        dcn_cfg=dict(type='DCNFast'),
        mask_predictor='conv',
        loss_cls=dict(
            type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    mask_head=dict(
        type='MEInstMaskHead',
        num_components=60,
        components_file='data/coco/meinst_components_60.npz',
        mask_size=28,
        encoding='explicit',
        loss_type='l2'),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        sqrt_score=True,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100,
        mask_thr_binary=0.5))
