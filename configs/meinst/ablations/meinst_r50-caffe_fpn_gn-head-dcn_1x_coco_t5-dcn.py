# Paper Table 5 "DC": deformable last conv of every tower (the default model).
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(bbox_head=dict(deform_last_conv=True, mask_predictor='conv'))
