"""SG-Net's mask head (Liu et al., CVPR 2021, Sec. 3.2): base mask module + granularity
blender with dynamic, per-instance sub-region division."""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import normal_init

from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptConfigType, OptMultiConfig
from ..layers.granularity_blender import GranularityBlender
from .blender_mask_head import BlenderMaskHead


@MODELS.register_module()
class SGNetMaskHead(BlenderMaskHead):
    """Base mask module (BMM) + granularity blender.

    BMM: FPN levels ``feat_levels`` (default P3-P5) upsampled to P3 and concatenated -> two
    3x3 convs with 128 channels -> a 1x1 conv to ``G * G * d`` channels -> bilinear
    upsampling by ``upsample_factor``. Instance ``i`` divides its box into
    ``min(G, ceil(w / S)) x min(G, ceil(h / S))`` sub-regions; pixel p of sub-region j gets
    ``sigmoid(a_ij . B_j(p))`` (paper Eq. 2), with j mapped to the canonical cell at the same
    relative position; outside the box the mask is 0.

    Args:
        in_channels (int): FPN channels. Default 256.
        feat_levels (Sequence[int]): FPN levels (0 = P3) the BMM reads. Default (0, 1, 2).
        feat_channels (int): Channels of the BMM convs. Default 128.
        num_convs (int): 3x3 convs of the BMM. Default 2.
        max_division (int): G. Default 6. ``attention_dim``: d. Default 1.
        division_size (float): S, input pixels per sub-region side. Default 50.
        upsample_factor (int): Upsampling of the base masks (4: stride 2 on P3 = stride 8).
        p3_stride (int): Stride of the first FPN level read. Default 8.
        mask_weighting (str): 'none' (the paper: BCE as Mask R-CNN) or SipMask's
            'cls' / 'loc' / 'cls+loc' alignment weighting.
        max_masks_to_train (int), min_box_area (float), loss_mask_weight (float): as in
            :class:`SipMaskMaskHead`.
    """

    def __init__(self,
                 in_channels: int = 256,
                 feat_levels: Sequence[int] = (0, 1, 2),
                 feat_channels: int = 128,
                 num_convs: int = 2,
                 max_division: int = 6,
                 attention_dim: int = 1,
                 division_size: float = 50.,
                 upsample_factor: int = 4,
                 p3_stride: int = 8,
                 mask_weighting: str = 'none',
                 max_masks_to_train: int = 300,
                 min_box_area: float = 4.0,
                 loss_mask_weight: float = 1.0,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.mask_weighting = self._check_weighting(mask_weighting)
        self._check_upsample_factor(upsample_factor)
        if p3_stride % upsample_factor:
            raise ValueError(f'upsample_factor ({upsample_factor}) must divide the stride of '
                             f'the first level ({p3_stride})')
        self.feat_levels = tuple(feat_levels)
        self.upsample_factor = upsample_factor
        self.attention_dim = attention_dim
        self.p3_stride = p3_stride
        self.max_masks_to_train = max_masks_to_train
        self.min_box_area = min_box_area
        self.loss_mask_weight = loss_mask_weight
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        channels = in_channels * len(self.feat_levels)
        convs = []
        for _ in range(num_convs):
            convs.append(ConvModule(channels, feat_channels, 3, padding=1))
            channels = feat_channels
        self.convs = nn.Sequential(*convs)
        num_cells = max_division * max_division
        self.conv_base = nn.Conv2d(channels, num_cells * attention_dim, 1)
        self.blender = GranularityBlender(
            max_division=max_division, division_size=division_size, shared_basis=False,
            base_stride=p3_stride // upsample_factor)
        self.num_coeff_channels = num_cells * attention_dim
        self.rescoring = None
        self._init_convs()

    def _init_convs(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                normal_init(m, std=0.01)

    def init_weights(self) -> None:
        super().init_weights()
        self._init_convs()

    def forward(self, x: tuple, positive_infos: InstanceList) -> tuple:
        """Base masks (B, G*G*d, H/s, W/s) from the FPN features ``x``."""
        feats = [x[level] for level in self.feat_levels]
        size = feats[0].shape[-2:]
        feats = [feats[0]] + [
            F.interpolate(f, size=size, mode='bilinear', align_corners=False) for f in feats[1:]
        ]
        bases = self.conv_base(self.convs(torch.cat(feats, dim=1)))
        if self.upsample_factor > 1:
            bases = F.interpolate(bases, scale_factor=self.upsample_factor, mode='bilinear',
                                  align_corners=False)
        return (bases, )
