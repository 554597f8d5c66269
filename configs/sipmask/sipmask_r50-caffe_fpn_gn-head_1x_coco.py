# SipMask R-50, high-accuracy version, 1333x800, 12 epochs (paper Table 1; authors'
# sipmask_r50_caffe_fpn_gn_1x.py). "gn-head": GroupNorm in the head towers.
_base_ = [
    '../_base_/models/sipmask_r50-caffe_fpn_gn-head.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
