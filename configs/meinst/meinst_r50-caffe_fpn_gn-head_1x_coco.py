# MEInst R-50 "1x_none" (AdelaiDet MEInst_R_50_1x_none): no deformable conv, single-scale
# training at 1333x800, 12 epochs (90k iterations at batch 16), 500-iteration warm-up at lr/3.
_base_ = [
    '../_base_/models/meinst_r50-caffe_fpn_gn-head.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
# detectron2's SGD: no bias lr multiplier / decay exception, no gradient clipping
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True), clip_grad=None)
