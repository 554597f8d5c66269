"""SipMask++'s mask re-scoring head: regress the IoU of a predicted mask with its GT.

Input: the (detached) mask probability map of each instance on the basis-mask grid;
6 stride-2 3x3 convs (1->16->16->16->32->64->128) + ReLU, a class-wise 1x1 conv + ReLU,
global max pooling; the channel of the instance's class is its predicted mask IoU. At test
time the segmentation score is predicted IoU x detection score.
"""
from typing import Sequence

import torch
import torch.nn as nn
from mmengine.model import kaiming_init, normal_init
from torch import Tensor

from mmdet.registry import MODELS


@MODELS.register_module()
class MaskRescoringHead(nn.Module):
    """Mask IoU regression (SipMask++).

    Args:
        num_classes (int): Number of classes (one IoU output per class).
        channels (Sequence[int]): Output channels of the stride-2 convs.
        padding (int): Padding of those convs. The authors use 0 on 272-288 px maps; we
            default to 1 so that small inputs still give a non-empty map.
        mask_thr (float): Threshold that binarises the predicted mask for the IoU target.
        min_gt_area (float): GT masks smaller than this (pixels of the basis grid) are
            not trained. ``min_iou``: targets at or below it are not trained.
        loss_weight (float): The MSE (summed) is multiplied by it and divided by the number
            of valid samples (+0.1).
    """

    def __init__(self,
                 num_classes: int,
                 channels: Sequence[int] = (16, 16, 16, 32, 64, 128),
                 padding: int = 1,
                 mask_thr: float = 0.4,
                 min_gt_area: float = 100.,
                 min_iou: float = 0.1,
                 loss_weight: float = 10.0) -> None:
        super().__init__()
        layers, in_ch = [], 1
        for out_ch in channels:
            layers += [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=padding), nn.ReLU(True)]
            in_ch = out_ch
        self.convs = nn.Sequential(*layers)
        self.conv_iou = nn.Conv2d(in_ch, num_classes, 1)
        self.mask_thr, self.min_gt_area, self.min_iou = mask_thr, min_gt_area, min_iou
        self.loss_weight = loss_weight
        for m in self.convs:
            if isinstance(m, nn.Conv2d):
                kaiming_init(m)
        normal_init(self.conv_iou, std=0.001)

    def forward(self, probs: Tensor) -> Tensor:
        """(N, H, W) mask probabilities -> (N, num_classes) predicted IoUs."""
        x = torch.relu(self.conv_iou(self.convs(probs[:, None])))
        return x.amax(dim=(2, 3))

    def predict(self, probs: Tensor, labels: Tensor) -> Tensor:
        if probs.shape[0] == 0:
            return probs.new_zeros((0, ))
        return self.forward(probs)[torch.arange(len(labels), device=labels.device), labels]

    def loss(self, probs: Tensor, labels: Tensor, gt_masks: Tensor) -> Tensor:
        """MSE between predicted IoU and IoU(probs > mask_thr, uncropped GT mask)."""
        pred = probs > self.mask_thr
        gt = gt_masks > 0.5
        overlap = (pred & gt).flatten(1).sum(1).float()
        gt_area = gt.flatten(1).sum(1).float()
        target = overlap / (pred.flatten(1).sum(1) + gt_area - overlap + 0.1)
        valid = (target > self.min_iou) & (target <= 1) & (gt_area >= self.min_gt_area)
        pred_iou = self.predict(probs, labels)
        return ((pred_iou - target)[valid]**2).sum() * self.loss_weight / (valid.sum() + 0.1)
