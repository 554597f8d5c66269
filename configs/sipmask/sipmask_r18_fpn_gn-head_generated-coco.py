# Small SipMask on the generated COCO-format data (configs/_base_/datasets/
# generated_coco_instance.py says how to generate it): ResNet-18 from scratch, 64-channel
# FPN/head, 160x128 images, AdamW; trains on 2 CPU cores in minutes. For smoke tests and the
# learning test, not for accuracy numbers.
_base_ = ['../_base_/models/sipmask_r18_fpn_small.py', '../_base_/generated_coco_cpu.py']
max_iters = 900
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters))
