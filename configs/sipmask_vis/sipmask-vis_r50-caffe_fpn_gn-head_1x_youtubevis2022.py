# SipMask-VIS R-50 (single-scale 1x) on YouTube-VIS 2022 (the 2021 classes and training set,
# configs/_base_/datasets/youtube_vis_2022.py).
_base_ = './sipmask-vis_r50-caffe_fpn_gn-head_1x_youtubevis2019.py'
data_root = 'data/youtube_vis_2022/'
dataset = dict(type='VISDataset', data_root=data_root, dataset_version='2022')
train_dataloader = dict(
    dataset=dict(**dataset, ann_file='annotations/youtube_vis_2022_train.json'))
val_dataloader = dict(
    dataset=dict(**dataset, ann_file='annotations/youtube_vis_2022_valid.json'))
test_dataloader = val_dataloader
