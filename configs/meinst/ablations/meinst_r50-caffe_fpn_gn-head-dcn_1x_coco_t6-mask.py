# Paper Table 6, second row: with the mask branch (the default model; compare box AP).
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
