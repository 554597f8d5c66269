# Paper Table 3 "−": implicit encoding: the predicted coefficients are decoded with the frozen
# components and a pixel BCE is applied to the 28 x 28 target (AdelaiDet's LOSS_ON_MASK).
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(mask_head=dict(encoding='implicit'))
