# Table 5: mask alignment weighting 'cls'.
_base_ = '../sipmask_r50-caffe_fpn_gn-head_1x_coco.py'
model = dict(mask_head=dict(mask_weighting='cls'))
