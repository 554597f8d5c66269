# Table 2 (c) +SAM: dynamic sub-regions (G=6, d=1), base masks from P3 only; IoU box loss.
_base_ = '../sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
model = dict(detector=dict(
    bbox_head=dict(max_division=6, attention_dim=1, loss_bbox=dict(_delete_=True, type='IoULoss')),
    mask_head=dict(max_division=6, attention_dim=1, feat_levels=(0, ))))
