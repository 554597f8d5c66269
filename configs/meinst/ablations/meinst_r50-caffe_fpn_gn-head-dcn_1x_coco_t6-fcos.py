# Paper Table 6, first row: the same detector without the mask branch, i.e. FCOS (GIoU loss,
# deformable last convs, centre sampling): mmdet's FCOS detector with MEInstHead(num_params=0).
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(
    _delete_=True,
    type='FCOS',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    bbox_head=dict(
        type='MEInstHead',
        num_classes=80,
        in_channels=256,
        feat_channels=256,
        stacked_convs=4,
        num_params=0,  # no mask branch
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        conv_bias=True,
        center_sampling=True,
        center_sample_radius=1.5,
        norm_on_bbox=True,
        centerness_on_reg=True,
        deform_last_conv=True,
        dcn_cfg=dict(type='DCNFast'),
        loss_cls=dict(
            type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg={{_base_.model.test_cfg}})
val_evaluator = dict(metric='bbox')
test_evaluator = val_evaluator
