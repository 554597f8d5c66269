# Table 2 (a) baseline (YOLACT-like): one cell (G=1) with a single 36-d attention vector over
# 36 base channels from P3 only; IoU box loss.
_base_ = '../sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
model = dict(detector=dict(
    bbox_head=dict(max_division=1, attention_dim=36, loss_bbox=dict(_delete_=True, type='IoULoss')),
    mask_head=dict(max_division=1, attention_dim=36, feat_levels=(0, ))))
