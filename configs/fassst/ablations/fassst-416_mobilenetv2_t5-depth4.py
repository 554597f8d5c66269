# Paper Table 5: head depth 4, E = MobileNetV2 stage 4 (64 ch, stride 16; out index 3).
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(
    backbone=dict(out_indices=(2, 3, 4, 7)),
    bbox_head=dict(in_channels=64, in_index=1),
    mask_head=dict(in_indices=(0, 2, 3)))
