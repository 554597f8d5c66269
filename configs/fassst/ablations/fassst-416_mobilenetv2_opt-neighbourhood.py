# Option (METHODS 6): the 3 x 3 cells around a GT's centre cell are extra positives.
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(bbox_head=dict(neighbourhood=True))
