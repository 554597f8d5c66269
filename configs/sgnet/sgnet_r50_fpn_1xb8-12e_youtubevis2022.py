# SG-Net R-50 on YouTube-VIS 2022 (the 2021 classes and training set, new validation videos;
# configs/_base_/datasets/youtube_vis_2022.py).
_base_ = './sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
data_root = 'data/youtube_vis_2022/'
dataset = dict(type='VISDataset', data_root=data_root, dataset_version='2022')
train_dataloader = dict(
    dataset=dict(**dataset, ann_file='annotations/youtube_vis_2022_train.json'))
val_dataloader = dict(
    dataset=dict(**dataset, ann_file='annotations/youtube_vis_2022_valid.json'))
test_dataloader = val_dataloader
