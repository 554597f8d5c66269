# Table 2 (e) +BMM +SAM +GIoU loss: the full SG-Net.
_base_ = '../sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
