"""Box-guided feature alignment (SipMask Sec. 3.3 "feature alignment"; reused by SG-Net).

The classification feature of every location is re-sampled with a deformable 3x3
convolution whose offsets are predicted, by a zero-initialised 1x1 convolution, from the
detached, stride-normalised box regression ``(l, t, r, b) / stride`` of the same location.
At initialisation the offsets are zero and the layer is a plain 3x3 convolution.
The deformable conv is the project's :class:`DeformConv2dFast` (mmcv's op on CUDA, a faster
PyTorch path on CPU; ``deform_impl`` forces either, the state dict is the same).
"""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import normal_init
from torch import Tensor

from mmdet.registry import MODELS
from .deform_conv import DeformConv2dFast


@MODELS.register_module()
class FeatureAlign(nn.Module):
    """Deformable 3x3 conv with offsets from the (detached) box regression, then norm + ReLU.

    Args:
        in_channels (int): Channels of the classification feature.
        out_channels (int): Output channels.
        deform_groups (int): Offset groups of the deformable conv. Default 4.
        norm_cfg (dict, optional): Norm after the conv (e.g. GN with 32 groups);
            ``None`` for the real-time configs without GN.
        box_channels (int): Channels of the box regression the offsets read. Default 4.
        deform_impl (str): Implementation of the deformable conv: 'auto' (mmcv's op on CUDA,
            PyTorch on CPU), 'mmcv' or 'torch'. Default 'auto'.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 deform_groups: int = 4,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 box_channels: int = 4,
                 deform_impl: str = 'auto') -> None:
        super().__init__()
        # named ``conv_offset`` so that mmdet's BaseDenseHead.init_weights zeroes it too
        self.conv_offset = nn.Conv2d(box_channels, 2 * 9 * deform_groups, 1, bias=False)
        self.conv_adaption = DeformConv2dFast(
            in_channels, out_channels, 3, padding=1, deform_groups=deform_groups, bias=False,
            impl=deform_impl)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1] if norm_cfg else None
        self.relu = nn.ReLU(inplace=True)
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.zeros_(self.conv_offset.weight)
        normal_init(self.conv_adaption, std=0.01)

    def forward(self, x: Tensor, box_pred: Tensor) -> Tensor:
        """Args: x (B, C, H, W) feature; box_pred (B, 4, H, W) stride-normalised distances
        (detached here). Returns (B, out_channels, H, W)."""
        offset = self.conv_offset(box_pred.detach())
        x = self.conv_adaption(x, offset)
        if self.norm is not None:
            x = self.norm(x)
        return self.relu(x)
