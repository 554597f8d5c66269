# Table 2 "+SP +CBM": contextual basis masks from P3-P5; no weighting.
_base_ = '../sipmask_r50-caffe_fpn_gn-head_1x_coco.py'
model = dict(mask_head=dict(mask_weighting='none'))
