# Paper Table 2: N = 60 components: the first 60 of an 80-component file (PCA components are
# ordered by variance, so they are the 60-component fit).
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(
    bbox_head=dict(num_params=60),
    mask_head=dict(num_components=60, components_file='data/coco/meinst_components_80.npz'))
