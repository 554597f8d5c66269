# SipMask-VIS R-50 (single-scale 1x) on OVIS (25 classes,
# configs/_base_/datasets/ovis.py); the YouTube-VIS 2019 recipe
# otherwise.
_base_ = './sipmask-vis_r50-caffe_fpn_gn-head_1x_youtubevis2019.py'
data_root = 'data/ovis/'
dataset = dict(type='VISDataset', data_root=data_root, dataset_version='ovis')
model = dict(detector=dict(bbox_head=dict(num_classes=25)))
train_dataloader = dict(
    dataset=dict(**dataset, ann_file='annotations/ovis_train.json',
                 data_prefix=dict(img_path='train')))
val_dataloader = dict(
    dataset=dict(**dataset, ann_file='annotations/ovis_valid.json',
                 data_prefix=dict(img_path='valid')))
test_dataloader = val_dataloader
val_evaluator = dict(outfile_prefix='./ovis_results')
test_evaluator = val_evaluator
