# Paper Table 3 "w/o": no encoding: the branch regresses the 784 (28 x 28) jittered mask logits
# directly (L2); no components file is needed.
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(
    bbox_head=dict(num_params=784),
    mask_head=dict(encoding='none', components_file=None))
