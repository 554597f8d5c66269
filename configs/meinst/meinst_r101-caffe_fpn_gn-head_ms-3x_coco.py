# MEInst R-101 without the deformable last convs, 36 epochs, multi-scale training ("aug.",
# paper Table 8): the R-50 3x schedule and pipeline.
_base_ = './meinst_r50-caffe_fpn_gn-head-dcn_ms-3x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')),
    bbox_head=dict(deform_last_conv=False))
