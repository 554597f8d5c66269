# Table 2 "baseline" (YOLACT-like, paper Sec. 4.2): basis masks from P3 only, one coefficient
# set per box (1x1 grid) read from the plain classification tower (no feature alignment: the
# SP module's two halves, alignment and spatial coefficients, are both off), no mask alignment
# weighting.
_base_ = '../sipmask_r50-caffe_fpn_gn-head_1x_coco.py'
model = dict(
    bbox_head=dict(grid_size=1, feature_align=False, mask_feat_levels=1),
    mask_head=dict(grid_size=1, num_levels=1, mask_weighting='none'))
