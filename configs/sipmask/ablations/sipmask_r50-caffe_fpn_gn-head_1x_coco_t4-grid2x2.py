# Table 4: 2x2 sub-regions (rows x cols) of spatial coefficients per box.
_base_ = '../sipmask_r50-caffe_fpn_gn-head_1x_coco.py'
model = dict(bbox_head=dict(grid_size=(2, 2)), mask_head=dict(grid_size=(2, 2)))
