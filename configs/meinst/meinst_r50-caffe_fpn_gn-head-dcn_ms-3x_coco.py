# MEInst R-50 "3x" (AdelaiDet MEInst_R_50_3x): DCN, multi-scale training (short side 640-800,
# step 32), 36 epochs (270k iterations at batch 16, steps at 180k / 240k), detectron2's
# linear warm-up (1000 iterations from 0.001 x lr).
_base_ = './meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
train_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(640, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[24, 32],
         gamma=0.1)
]
