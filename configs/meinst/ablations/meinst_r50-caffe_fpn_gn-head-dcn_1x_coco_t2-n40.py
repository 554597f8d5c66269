# Paper Table 2: N = 40 components: the first 40 of an 80-component file (PCA components are
# ordered by variance, so they are the 40-component fit).
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(
    bbox_head=dict(num_params=40),
    mask_head=dict(num_components=40, components_file='data/coco/meinst_components_80.npz'))
