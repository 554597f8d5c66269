# Table 5: base features from P3-P5 (the default).
_base_ = '../sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
model = dict(detector=dict(mask_head=dict(feat_levels=(0, 1, 2))))
