# Paper Table 9: without RFF, the RoI feature of the first pyramid mask layer (R1, stride 8,
# 28 x 28) goes straight to the mask tail. MobileNetV2 still runs its stages 6-7, whose outputs
# nobody reads: distributed training must allow unused parameters.
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(mask_head=dict(rff=dict(fuse=False)))
find_unused_parameters = True
