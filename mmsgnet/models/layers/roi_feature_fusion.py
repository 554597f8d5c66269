"""FASSST's ROI feature fusion (RFF, paper Sec. 3.3, Eq. 3-4, Fig. 5).

Three "pyramid mask layers" (default: backbone features of stride 8, 16 and 32), each through
a 1x1 lateral conv to the same width, give RoIAlign features ``R1, R2, R3`` of sizes
``2a, a, a/2`` for the same boxes; they are fused top-down::

    R = ReLU(R1 + up(R2 + up(R3)))          (Eq. 4; up = bilinear x2, Eq. 3)

mmdet's ``SingleRoIExtractor`` maps each RoI to ONE level (by its scale); RFF reads every RoI
from all three levels at different output sizes, so the three mmcv ``RoIAlign`` layers are
built here directly (from the same ``roi_layer`` config that ``SingleRoIExtractor`` takes).
"""
from typing import Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmcv import ops
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig


def fuse_roi_features(r1: Tensor, r2: Tensor, r3: Tensor) -> Tensor:
    """Eq. 4: ``ReLU(R1 + up(R2 + up(R3)))``, ``up`` the bilinear x2 upsampling of Eq. 3.

    Args:
        r1, r2, r3 (Tensor): (N, C, 2a, 2a), (N, C, a, a), (N, C, a/2, a/2).
    """
    def up(x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)

    return F.relu(r1 + up(r2 + up(r3)))


@MODELS.register_module()
class RoIFeatureFusion(BaseModule):
    """ROI feature fusion over three pyramid mask layers (Eq. 4).

    Args:
        in_channels (Sequence[int]): Channels of the three mask layers (finest first).
        strides (Sequence[int]): Their strides in input pixels. Default (8, 16, 32).
        out_channels (int): Width of the 1x1 laterals and of ``R``. Default 256.
        roi_size (int): ``a``: ``R2`` is a x a, ``R1`` 2a x 2a, ``R3`` a/2 x a/2 (``a`` even).
            Default 14 (28, 14, 7).
        fuse (bool): RFF (True) or the paper's Table 9 baseline without it (False):
            ``R = R1``, the RoI feature of the first mask layer only (the other two layers
            get no lateral and are not read). Default True.
        roi_layer (dict): mmcv RoI layer config without ``output_size`` /
            ``spatial_scale``. Default ``RoIAlign`` with adaptive sampling, aligned.
        init_cfg (dict, optional): Initialisation config.

    Input: the three (B, C_i, H_i, W_i) features and (N, 5) RoIs (batch index, x1, y1, x2, y2)
    in input pixels. Output: (N, out_channels, 2a, 2a).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 strides: Sequence[int] = (8, 16, 32),
                 out_channels: int = 256,
                 roi_size: int = 14,
                 fuse: bool = True,
                 roi_layer: dict = dict(type='RoIAlign', sampling_ratio=0, aligned=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 3 or len(strides) != 3:
            raise ValueError('RoIFeatureFusion fuses three pyramid mask layers: give three '
                             f'in_channels and strides, got {in_channels} and {strides}')
        if roi_size < 2 or roi_size % 2:
            raise ValueError(f'roi_size (a) must be even so that R3 is a/2 x a/2, got {roi_size}')
        self.fuse = fuse
        self.strides = tuple(strides)
        self.out_channels = out_channels
        self.roi_sizes = (2 * roi_size, roi_size, roi_size // 2)
        num_levels = 3 if fuse else 1
        self.laterals = nn.ModuleList(
            ConvModule(c, out_channels, 1, act_cfg=None) for c in in_channels[:num_levels])
        self.roi_layers = nn.ModuleList()
        for size, stride in zip(self.roi_sizes[:num_levels], self.strides):
            layer = dict(roi_layer)
            layer_type = layer.pop('type')
            if not hasattr(ops, layer_type):
                raise ValueError(f'roi_layer type {layer_type!r} is not an mmcv op: use e.g. '
                                 "'RoIAlign' (as mmdet's SingleRoIExtractor)")
            self.roi_layers.append(getattr(ops, layer_type)(
                output_size=size, spatial_scale=1.0 / stride, **layer))

    @property
    def output_size(self) -> int:
        """Side of ``R`` (2a)."""
        return self.roi_sizes[0]

    def forward(self, feats: Sequence[Tensor], rois: Tensor) -> Tensor:
        """RoI features of ``rois`` on the mask layers ``feats``, fused (Eq. 4)."""
        rs = [roi(lateral(feat), rois)
              for feat, lateral, roi in zip(feats, self.laterals, self.roi_layers)]
        if not self.fuse:
            return rs[0]
        return fuse_roi_features(*rs)
