# Paper Table 7: n = 49 instance slots (7 x 7 grid).
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(bbox_head=dict(num_instances=49), test_cfg=dict(max_per_img=49))
