# Table 2 (d) +BMM +SAM (G=6, d=1, P3-P5); IoU box loss.
_base_ = '../sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
model = dict(detector=dict(bbox_head=dict(loss_bbox=dict(_delete_=True, type='IoULoss'))))
