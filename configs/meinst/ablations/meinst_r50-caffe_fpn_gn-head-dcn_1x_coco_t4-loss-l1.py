# Paper Table 4: l1 loss on the coefficients.
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(mask_head=dict(loss_type='l1'))
