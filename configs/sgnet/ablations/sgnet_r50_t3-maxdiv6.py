# Table 3: maximum division G = 6.
_base_ = '../sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
model = dict(detector=dict(bbox_head=dict(max_division=6), mask_head=dict(max_division=6)))
