# Paper Table 5 "LK": large-kernel (k = 9) block as the mask predictor, no deformable conv.
_base_ = '../meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py'
model = dict(bbox_head=dict(deform_last_conv=False, mask_predictor='large_kernel',
                            large_kernel_size=9))
