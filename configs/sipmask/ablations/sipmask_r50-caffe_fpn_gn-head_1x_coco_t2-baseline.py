# Table 2 "baseline" (YOLACT-like): basis masks from P3 only, one coefficient set per box
# (1x1 grid), no mask alignment weighting.
_base_ = '../sipmask_r50-caffe_fpn_gn-head_1x_coco.py'
model = dict(
    bbox_head=dict(grid_size=1, mask_feat_levels=1),
    mask_head=dict(grid_size=1, num_levels=1, mask_weighting='none'))
