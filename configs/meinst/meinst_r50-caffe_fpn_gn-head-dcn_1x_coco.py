# MEInst R-50 "1x" (AdelaiDet MEInst_R_50_1x; the paper's default "DC"): the last conv of the
# cls, box and mask towers is a deformable conv (DCNv1).
_base_ = './meinst_r50-caffe_fpn_gn-head_1x_coco.py'
model = dict(bbox_head=dict(deform_last_conv=True))
