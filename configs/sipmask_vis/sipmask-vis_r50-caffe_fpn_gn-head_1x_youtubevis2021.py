# SipMask-VIS R-50 (single-scale 1x) on YouTube-VIS 2021.
_base_ = './sipmask-vis_r50-caffe_fpn_gn-head_1x_youtubevis2019.py'
data_root = 'data/youtube_vis_2021/'
dataset_version = '2021'
train_dataloader = dict(
    dataset=dict(data_root=data_root, dataset_version=dataset_version,
                 ann_file='annotations/youtube_vis_2021_train.json'))
val_dataloader = dict(
    dataset=dict(data_root=data_root, dataset_version=dataset_version,
                 ann_file='annotations/youtube_vis_2021_valid.json'))
test_dataloader = val_dataloader
