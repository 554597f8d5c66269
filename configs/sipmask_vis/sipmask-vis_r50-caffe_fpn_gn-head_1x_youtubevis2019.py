# SipMask-VIS R-50 on YouTube-VIS 2019, 640x360, 12 epochs (authors' sipmask_r50_caffe_fpn_gn_1x.py;
# paper Table 6: 32.5 AP). The detector starts from a COCO SipMask checkpoint (ours, or the
# authors' converted with tools/model_converters/sipmask_to_mmsgnet.py) through
# detector.init_cfg; set it to None to start from ImageNet weights instead (or use
# load_from=COCO.pth: the VIS model maps an image detector checkpoint onto its detector).
_base_ = [
    '../_base_/models/sipmask_r50-caffe_fpn_gn-head.py', '../_base_/datasets/youtube_vis_2019.py',
    '../_base_/default_runtime.py'
]
detector = _base_.model
detector.data_preprocessor = None
detector.bbox_head.update(num_classes=40, stacked_convs=3, coeff_init_std=0.01)
detector.test_cfg = dict(
    nms_pre=200,
    score_thr=0.03,  # on cls x centerness (FastNMS)
    fast_nms=dict(iou_thr=0.5, top_k=200),
    max_per_img=10,
    mask_thr_binary=0.5)
detector.init_cfg = dict(
    type='Pretrained', checkpoint='checkpoints/sipmask_r50-caffe_fpn_gn-head_1x_coco.pth')
model = dict(
    _delete_=True,
    type='SipMaskVIS',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[102.9801, 115.9465, 122.7717],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False,
        pad_mask=True,
        pad_size_divisor=32),
    detector=detector,
    track_head=dict(type='SipMaskTrackHead', in_channels=256, num_convs=2, num_levels=3,
                    embed_channels=512, ref_jitter=0.05),
    tracker=dict(
        type='MaskTrackRCNNTracker',
        match_weights=dict(det_score=1.0, iou=2.0, det_label=10.0),
        # the authors never drop a track (every earlier object stays a candidate); mmdet's
        # default drops tracks unseen for 20 frames. 10**9 frames: longer than any video
        num_frames_retain=10**9))
train_dataloader = dict(batch_size=8)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_begin=13)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 80, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(visualization=dict(type='TrackVisualizationHook', draw=False))
visualizer = dict(type='TrackLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
