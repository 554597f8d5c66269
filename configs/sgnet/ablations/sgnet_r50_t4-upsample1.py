# Table 4: base-mask upsampling factor 1 (base masks at stride 8).
_base_ = '../sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'
model = dict(detector=dict(mask_head=dict(upsample_factor=1)))
