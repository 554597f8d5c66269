# Paper Table 8: Cityscapes without the COCO pretrained model (ImageNet backbone only).
_base_ = '../fassst-768_mobilenetv2_cityscapes.py'
load_from = None
