"""YouTube-VIS 2021: the 2019 settings with the 2021 data and class list.

Layout: ``data/youtube_vis_2021/{train,valid}/JPEGImages/...`` and
``data/youtube_vis_2021/annotations/youtube_vis_2021_{train,valid}.json``, converted from the
official ``{train,valid}/instances.json`` with ``tools/dataset_converters/ytvis2cocovid.py``.
"""
_base_ = ['./youtube_vis_2019.py']

data_root = 'data/youtube_vis_2021/'
dataset_version = '2021'

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2021_train.json'))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2021_valid.json'))
test_dataloader = val_dataloader
