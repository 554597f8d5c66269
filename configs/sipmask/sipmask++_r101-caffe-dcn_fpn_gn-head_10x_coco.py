# SipMask++ R-101-DCN with GN in the head ("10x": RepeatDataset x5 x 24 epochs).
_base_ = './sipmask++_r101-caffe-dcn_fpn_6x_coco.py'
model = dict(
    bbox_head=dict(norm_cfg=dict(_delete_=True, type='GN', num_groups=32, requires_grad=True)))
train_dataloader = dict(dataset=dict(times=5))
