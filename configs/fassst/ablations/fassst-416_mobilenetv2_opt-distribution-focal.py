# Option (METHODS 6): localisation loss = GFL's distribution focal loss on the 4 sides (the
# paper's "based on focal loss"); the IAM predicts reg_max + 1 bins per side.
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(bbox_head=dict(reg_max=16,
                            loss_loc=dict(type='DistributionFocalLoss', loss_weight=3.0)))
