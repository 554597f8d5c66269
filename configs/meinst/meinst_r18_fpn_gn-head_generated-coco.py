# Small MEInst on the generated COCO-format data (configs/_base_/datasets/
# generated_coco_instance.py says how to generate it): ResNet-18 from scratch, 64-channel
# FPN/head (2 convs per tower), 160x128 images, AdamW; trains on 2 CPU cores in minutes. For
# smoke tests and the learning test, not for accuracy numbers. Fit the components first:
#   python tools/dataset_converters/mask_components.py \
#       data/generated_coco/train/annotations/instances.json \
#       --out data/generated_coco/meinst_components_60.npz --num-components 60
_base_ = ['../_base_/models/meinst_r50-caffe_fpn_gn-head.py', '../_base_/generated_coco_cpu.py']
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[128, 256, 512], out_channels=64, start_level=0),
    bbox_head=dict(num_classes=3, in_channels=64, feat_channels=64, stacked_convs=2,
                   num_mask_convs=2, norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
                   regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256), (256, 1e8))),
    mask_head=dict(components_file='data/generated_coco/meinst_components_60.npz'),
    test_cfg=dict(score_thr=0.1, max_per_img=20))
max_iters = 400
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters))
