# FASSST-416 with ResNet-50 + FPN (paper Table 6: +0.7 AP, -20.4 FPS). E is FPN P4 (stride 16,
# as MobileNetV2's head depth 5); the pyramid mask layers are P3, P4, P5.
_base_ = './fassst-416_mobilenetv2_100e_coco.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(_delete_=True, type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256,
              start_level=1, num_outs=3),
    bbox_head=dict(in_channels=256, in_index=1),
    mask_head=dict(in_indices=(0, 1, 2), rff=dict(in_channels=(256, 256, 256))))
