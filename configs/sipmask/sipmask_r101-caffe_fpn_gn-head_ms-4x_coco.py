# SipMask R-101, multi-scale training, 48 epochs (authors: 2 images per GPU).
_base_ = './sipmask_r50-caffe_fpn_gn-head_ms-2x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron/resnet101_caffe')))
train_dataloader = dict(batch_size=2)
max_epochs = 48
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[40, 46],
         gamma=0.1)
]
