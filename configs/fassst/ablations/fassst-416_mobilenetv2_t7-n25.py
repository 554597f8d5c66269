# Paper Table 7: n = 25 instance slots (5 x 5 grid).
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(bbox_head=dict(num_instances=25), test_cfg=dict(max_per_img=25))
