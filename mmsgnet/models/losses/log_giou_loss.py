"""SG-Net's box loss (Liu et al., CVPR 2021, Eq. 5): ``L_box = -ln((1 + GIoU) / 2)``.

Compared with ``1 - GIoU`` the logarithm raises the loss (and gradient) of poorly overlapping
boxes, "to facilitate hard sample learning".
"""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmdet.models.losses.utils import weighted_loss
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps


@weighted_loss
def log_giou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """Element-wise ``-ln((1 + GIoU(pred, target)) / 2)`` of aligned (N, 4) xyxy boxes."""
    giou = bbox_overlaps(pred, target, mode='giou', is_aligned=True, eps=eps)
    return -torch.log(((1 + giou) / 2).clamp(min=eps))


@MODELS.register_module()
class LogGIoULoss(nn.Module):
    """``-ln((1 + GIoU) / 2)`` box loss.

    Args:
        eps (float): Numerical floor. Default 1e-7.
        reduction (str): 'none', 'mean' or 'sum'. Default 'mean'.
        loss_weight (float): Weight of the loss. Default 1.0.
    """

    def __init__(self, eps: float = 1e-7, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Args: pred, target (N, 4) xyxy; weight (N,) or (N, 4) (averaged over the 4)."""
        reduction = reduction_override if reduction_override else self.reduction
        if weight is not None and weight.dim() > 1:
            weight = weight.mean(-1)
        if weight is not None and not torch.any(weight > 0) and reduction != 'none':
            return (pred * weight[:, None]).sum() * 0
        return self.loss_weight * log_giou_loss(
            pred, target, weight, eps=self.eps, reduction=reduction, avg_factor=avg_factor)
