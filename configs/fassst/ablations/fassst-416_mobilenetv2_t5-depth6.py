# Paper Table 5: head depth 6, E = MobileNetV2 stage 6 (160 ch, stride 32; out index 5). E is
# already at stride 32, so the IAM's convs keep stride 1.
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(
    backbone=dict(out_indices=(2, 4, 5, 7)),
    bbox_head=dict(in_channels=160, in_index=2, conv_strides=(1, 1, 1, 1, 1, 1, 1, 1)),
    mask_head=dict(in_indices=(0, 1, 3)))
