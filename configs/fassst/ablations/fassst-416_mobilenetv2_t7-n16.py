# Paper Table 7: n = 16 instance slots (4 x 4 grid).
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(bbox_head=dict(num_instances=16), test_cfg=dict(max_per_img=16))
