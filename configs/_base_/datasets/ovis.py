"""OVIS (Occluded Video Instance Segmentation, Qi et al., IJCV 2022): 25 classes, heavily
occluded objects, long videos; the YouTube-VIS 2019 settings otherwise.

Layout: ``data/ovis/{train,valid}/<video>/<frame>.jpg`` and the CocoVID files
``data/ovis/annotations/ovis_{train,valid}.json``, converted from the official
``annotations_{train,valid}.json`` with::

    python tools/dataset_converters/ytvis2cocovid.py \
        data/ovis/annotations_train.json data/ovis/annotations/ovis_train.json
    (and the same for annotations_valid.json -> ovis_valid.json)

The official valid/test files have ``"annotations": null`` (hidden ground truth): they
convert to an empty annotation list, and validation writes the submission zip for the
evaluation server (``format_only=True``). ``VISDataset`` with ``dataset_version='ovis'``
names the 25 classes (as spelled in the official files).
"""
_base_ = ['./youtube_vis_2019.py']

dataset_type = 'VISDataset'
data_root = 'data/ovis/'
dataset_version = 'ovis'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/ovis_train.json',
        data_prefix=dict(img_path='train')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/ovis_valid.json',
        data_prefix=dict(img_path='valid')))
test_dataloader = val_dataloader
val_evaluator = dict(outfile_prefix='./ovis_results')
test_evaluator = val_evaluator
