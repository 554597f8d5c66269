# SipMask-VIS R-50, multi-scale training (long side in [640, 960], short side in [360, 480];
# the authors' "649" read as 640), from the multi-scale COCO SipMask (paper: 33.7 AP).
_base_ = './sipmask-vis_r50-caffe_fpn_gn-head_1x_youtubevis2019.py'
model = dict(detector=dict(init_cfg=dict(
    checkpoint='checkpoints/sipmask_r50-caffe_fpn_gn-head_ms-2x_coco.pth')))
train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=100, filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='StrictLoadImageFromFile'),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='RandomResize', scale=[(640, 360), (960, 480)], keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
