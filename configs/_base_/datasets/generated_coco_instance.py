"""Generated COCO instance segmentation: textured shapes whose shape is the class, sized for
CPU training (320x240 images).

Make the two splits (different seeds, so val is held out) with::

    python tools/dataset_converters/generate_dataset.py coco \
        --out-dir data/generated_coco/train --num-images 200 --size 320 240 --seed 0
    python tools/dataset_converters/generate_dataset.py coco \
        --out-dir data/generated_coco/val --num-images 50 --size 320 240 --seed 1

which gives ``data/generated_coco/{train,val}/images/*.jpg`` and
``data/generated_coco/{train,val}/annotations/instances.json``. Everything else is as in
``coco_instance.py``.
"""
_base_ = ['./coco_instance.py']

data_root = 'data/generated_coco/'
classes = ('ellipse', 'rectangle', 'triangle')
metainfo = dict(classes=classes, palette=[(220, 20, 60), (0, 128, 255), (60, 200, 60)])
image_scale = (320, 240)
backend_args = None

train_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='train/annotations/instances.json',
        data_prefix=dict(img='train/images/'),
        check_images='decode',  # decode every image once, before training
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='val/annotations/instances.json',
        data_prefix=dict(img='val/images/'),
        check_images='decode',  # decode every image once, when the dataset is built
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=data_root + 'val/annotations/instances.json')
test_evaluator = val_evaluator
