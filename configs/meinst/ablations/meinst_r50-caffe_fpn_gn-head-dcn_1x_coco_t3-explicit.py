# Paper Table 3 "✓": explicit encoding (L2 on the PCA coefficients; the default).
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(mask_head=dict(encoding='explicit'))
