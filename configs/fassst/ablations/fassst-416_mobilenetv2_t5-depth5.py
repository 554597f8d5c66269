# Paper Table 5: head depth 5 (the default: E = MobileNetV2 stage 5, 96 ch, stride 16).
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(backbone=dict(out_indices=(2, 4, 7)), bbox_head=dict(in_channels=96, in_index=1))
