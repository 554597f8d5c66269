"""YouTube-VIS 2019 video instance segmentation (as mmdet's MaskTrack R-CNN configs).

Layout: ``data/youtube_vis_2019/{train,valid}/JPEGImages/<video>/<frame>.jpg`` and the CocoVID
files ``data/youtube_vis_2019/annotations/youtube_vis_2019_{train,valid}.json``, made from the
official files with::

    python tools/dataset_converters/ytvis2cocovid.py \
        data/youtube_vis_2019/train.json \
        data/youtube_vis_2019/annotations/youtube_vis_2019_train.json
    (and the same for valid.json -> youtube_vis_2019_valid.json)

The official valid split has no public ground truth, so validation only writes a submission
zip (``YTVISMetric`` with ``format_only=True``) for the evaluation server; on a split with
annotations set ``format_only=False`` to get the AP locally. ``StrictYouTubeVISDataset``
validates the annotation file and that every frame exists before loading; every pipeline loads
frames with ``StrictLoadImageFromFile``, which names a missing, truncated or corrupt frame. mmdet's
``inference_mot`` needs ``test_pipeline[0]`` to be a ``TransformBroadcaster`` holding a
``Resize`` and ``test_pipeline[-1]`` to be ``PackTrackInputs``.
"""
custom_imports = dict(imports=['mmsgnet'], allow_failed_imports=False)

dataset_type = 'StrictYouTubeVISDataset'
data_root = 'data/youtube_vis_2019/'
dataset_version = '2019'
backend_args = None

train_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=1,
        frame_range=100,
        filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='StrictLoadImageFromFile', backend_args=backend_args),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=(640, 360), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='StrictLoadImageFromFile', backend_args=backend_args),
            dict(type='Resize', scale=(640, 360), keep_ratio=True),
            dict(type='LoadTrackAnnotations', with_mask=True),
        ]),
    dict(type='PackTrackInputs')
]

train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='TrackImgSampler'),  # every frame of every video once per epoch
    batch_sampler=dict(type='TrackAspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2019_train.json',
        data_prefix=dict(img_path='train/JPEGImages'),
        pipeline=train_pipeline,
        backend_args=backend_args))
# one frame per sample, each video's frames in order on one rank (TrackImgSampler): memory is
# bounded by a frame however long the video (DefaultSampler would load whole videos);
# YTVISMetric assembles each video's tracks as its frames arrive
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='TrackImgSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2019_valid.json',
        data_prefix=dict(img_path='valid/JPEGImages'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# mmsgnet's numpy-safe YouTube-VIS metric (mmsgnet/evaluation/ytvis_metric.py); with
# format_only=False and a split with annotations it computes AP/AR locally
val_evaluator = dict(
    type='YTVISMetric',
    outfile_prefix='{work_dir}/youtube_vis_results',  # the run's work dir
    format_only=True)
test_evaluator = val_evaluator
