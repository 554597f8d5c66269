"""YouTube-VIS 2022: the 2021 training set and class list (40 classes), new validation videos
(among them long ones, which the frame-by-frame ``TrackImgSampler`` evaluation keeps in
bounded memory).

Layout: ``data/youtube_vis_2022/{train,valid}/JPEGImages/...`` (train = the 2021 train split)
and ``data/youtube_vis_2022/annotations/youtube_vis_2022_{train,valid}.json``, converted from
the official files with ``tools/dataset_converters/ytvis2cocovid.py``. mmdet's
``YouTubeVISDataset`` refuses ``dataset_version='2022'``; ``VISDataset`` maps it to the 2021
classes.
"""
_base_ = ['./youtube_vis_2019.py']

dataset_type = 'VISDataset'
data_root = 'data/youtube_vis_2022/'
dataset_version = '2022'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2022_train.json'))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2022_valid.json'))
test_dataloader = val_dataloader
