# Real-time SipMask R-50 with GN in the head, RepeatDataset x5 x 24 epochs ("10x").
_base_ = './sipmask-rt_r50-caffe_fpn_6x_coco.py'
model = dict(
    bbox_head=dict(norm_cfg=dict(_delete_=True, type='GN', num_groups=32, requires_grad=True)))
train_dataloader = dict(dataset=dict(times=5))
