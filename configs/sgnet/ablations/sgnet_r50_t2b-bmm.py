# Table 2 (b) +BMM: base masks from P3-P5 (G=1, d=36); IoU box loss.
_base_ = '../sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
model = dict(detector=dict(
    bbox_head=dict(max_division=1, attention_dim=36, loss_bbox=dict(_delete_=True, type='IoULoss')),
    mask_head=dict(max_division=1, attention_dim=36, feat_levels=(0, 1, 2))))
