"""Generated YouTube-VIS video instance segmentation: moving textured shapes (the shape is the
class) that change scale, occlude each other and leave and re-enter the frame, sized for CPU
training (320x240 frames, 30 frames a video).

Make the two splits (different seeds, so val is held out) with::

    python tools/dataset_converters/generate_dataset.py ytvis \
        --out-dir data/generated_ytvis/train --num-videos 32 --num-frames 30 \
        --size 320 240 --seed 0
    python tools/dataset_converters/generate_dataset.py ytvis \
        --out-dir data/generated_ytvis/val --num-videos 8 --num-frames 30 \
        --size 320 240 --seed 1

which gives ``data/generated_ytvis/{train,val}/JPEGImages/<video>/<frame>.jpg``, the official
YouTube-VIS 2019 file ``{train,val}/annotations/instances.json`` and its CocoVID conversion
``{train,val}/annotations/instances_cocovid.json`` read here. The files carry all 40
YouTube-VIS 2019 categories; objects use the first three, which ``metainfo`` selects, so a
label ``l`` is category id ``l + 1`` as ``YTVISMetric`` assumes.

The val split has ground truth, so ``YTVISMetric`` computes the YouTube-VIS AP/AR locally
(``format_only=False``) and also writes the results files. Samplers and loaders are as in
``youtube_vis_2019.py``.
"""
_base_ = ['./youtube_vis_2019.py']

data_root = 'data/generated_ytvis/'
dataset_version = '2019'
classes = ('person', 'giant_panda', 'lizard')
metainfo = dict(classes=classes)
image_scale = (320, 240)
backend_args = None

train_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=1,
        frame_range=10,
        filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='StrictLoadImageFromFile', backend_args=backend_args),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=image_scale, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='StrictLoadImageFromFile', backend_args=backend_args),
            dict(type='Resize', scale=image_scale, keep_ratio=True),
            dict(type='LoadTrackAnnotations', with_mask=True),
        ]),
    dict(type='PackTrackInputs')
]

train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        data_root=data_root,
        dataset_version=dataset_version,
        metainfo=metainfo,
        ann_file='train/annotations/instances_cocovid.json',
        data_prefix=dict(img_path='train/JPEGImages/'),
        check_images='decode',  # decode every image once, before training
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        dataset_version=dataset_version,
        metainfo=metainfo,
        ann_file='val/annotations/instances_cocovid.json',
        data_prefix=dict(img_path='val/JPEGImages/'),
        check_images='decode',  # decode every image once, when the dataset is built
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# '{work_dir}': the run's --work-dir (WorkDirOutputsHook in default_runtime.py)
val_evaluator = dict(outfile_prefix='{work_dir}/generated_ytvis_results', format_only=False)
test_evaluator = val_evaluator
