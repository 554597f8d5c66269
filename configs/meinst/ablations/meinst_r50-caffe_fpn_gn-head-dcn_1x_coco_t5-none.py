# Paper Table 5, first row: no larger receptive field (plain 3x3 convs and predictor).
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(bbox_head=dict(deform_last_conv=False, mask_predictor='conv'))
