# Real-time SipMask R-50: 2 stacked convs without GN, SSD-style augmentation, 576x576 train /
# 544x544 test (aspect ratio not kept), FastNMS, RepeatDataset x3 x 24 epochs ("6x").
# Authors' sipmask_r50_caffe_fpn_ssd_6x.py; paper Table 1 "real-time".
_base_ = './sipmask_r50-caffe_fpn_gn-head_1x_coco.py'
norm_mean = [102.9801, 115.9465, 122.7717]
model = dict(
    bbox_head=dict(stacked_convs=2, norm_cfg=None),
    test_cfg=dict(
        _delete_=True,
        nms_pre=1000,
        score_thr=0.1,  # on cls x centerness (FastNMS path)
        fast_nms=dict(iou_thr=0.5, top_k=200),
        max_per_img=100,
        mask_thr_binary=0.4))
train_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5),
         saturation_range=(0.5, 1.5), hue_delta=18),
    dict(type='Expand', mean=norm_mean, to_rgb=False, ratio_range=(1, 4)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=(576, 576), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=(544, 544), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=3,
        dataset=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=train_pipeline,
            backend_args={{_base_.backend_args}})))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[20, 23],
         gamma=0.1)
]
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
auto_scale_lr = dict(base_batch_size=32)
