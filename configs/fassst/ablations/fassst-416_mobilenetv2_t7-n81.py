# Paper Table 7: n = 81 instance slots (9 x 9 grid).
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(bbox_head=dict(num_instances=81), test_cfg=dict(max_per_img=81))
