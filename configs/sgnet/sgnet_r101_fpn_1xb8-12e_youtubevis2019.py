# SG-Net R-101 on YouTube-VIS 2019 (paper Table 1: 36.3 AP).
_base_ = './sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
model = dict(
    detector=dict(
        backbone=dict(
            depth=101,
            init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101'))))
