# Small FASSST on the generated COCO-format data (configs/_base_/datasets/
# generated_coco_instance.py says how to generate it): MobileNetV2 x0.5 from scratch, 64-ch
# IAM and mask tail, a = 8 (32 x 32 masks), 160 x 128 images, n = 36, AdamW; trains on 2 CPU
# cores in minutes. For smoke tests and the learning test, not for accuracy numbers.
_base_ = ['../_base_/models/fassst_mobilenetv2.py', '../_base_/generated_coco_cpu.py']
model = dict(
    backbone=dict(widen_factor=0.5, init_cfg=None),
    bbox_head=dict(num_classes=3, in_channels=48, feat_channels=64),
    mask_head=dict(rff=dict(in_channels=(16, 48, 1280), out_channels=64, roi_size=8),
                   conv_channels=64),
    test_cfg=dict(score_thr=0.1, max_per_img=20))
max_iters = 600
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters))
