# Table 2 "+SP": the spatial preservation module, both halves (paper Sec. 3.1): feature
# alignment and spatial coefficients (2x2 sub-regions); basis from P3 only, no weighting.
_base_ = '../sipmask_r50-caffe_fpn_gn-head_1x_coco.py'
model = dict(
    bbox_head=dict(grid_size=2, feature_align=True, mask_feat_levels=1),
    mask_head=dict(grid_size=2, num_levels=1, mask_weighting='none'))
