# Paper Table 7: n = 64 instance slots (8 x 8 grid).
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(bbox_head=dict(num_instances=64), test_cfg=dict(max_per_img=64))
