"""SipMask's mask branch (Cao et al., ECCV 2020, Sec. 3.1-3.4).

Contextual basis masks from the regression-tower outputs of P3-P5, the spatial
preservation module (per sub-region coefficients, blended by the shared
:class:`GranularityBlender`), the mask alignment weighting loss, and SipMask++'s optional
mask re-scoring head.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import normal_init

from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptConfigType, OptMultiConfig
from ..layers.granularity_blender import GranularityBlender
from ..layers.mask_rescoring import MaskRescoringHead
from .blender_mask_head import BlenderMaskHead


@MODELS.register_module()
class SipMaskMaskHead(BlenderMaskHead):
    """Basis masks + spatial preservation + mask alignment weighting loss.

    Args:
        in_channels (int): Channels of each regression-tower feature. Default 256.
        num_levels (int): Levels whose features are concatenated (3: P3-P5 "CBM",
            1: P3 only, the paper's baseline). Must match the bbox head's
            ``mask_feat_levels``.
        basis_channels (int): Channels of the 1x1 fusion conv. Default 512.
        num_bases (int): Basis masks ``m``. Default 32.
        grid_size (int | tuple[int, int]): Sub-regions (rows, cols) of a box. Default 2.
        upsample_factor (int): Bilinear upsampling of the basis masks after the convs
            (4: stride 2 when P3 has stride 8). Default 4.
        base_stride (int): Stride of the basis masks in input pixels. Default 2.
        mask_weighting (str): Mask alignment weighting of the per-instance BCE: 'none',
            'cls' (GT-class probability), 'loc' (IoU of predicted and GT box) or 'cls+loc'
            (their product, the paper's). Renormalised to mean 1 per image.
        max_masks_to_train (int): At most this many positives per image get a mask loss
            (a random subset; -1 for all). Default 300.
        min_box_area (float): Positives whose predicted box area (input pixels^2) is not
            larger than this are skipped (authors: 1 px^2 at stride 2). Default 4.
        loss_mask_weight (float): Weight of the mask loss. Default 1.
        rescoring (dict, optional): Config of the SipMask++ mask re-scoring head
            (:class:`MaskRescoringHead`), e.g. ``dict(num_classes=80)``.
    """

    def __init__(self,
                 in_channels: int = 256,
                 num_levels: int = 3,
                 basis_channels: int = 512,
                 num_bases: int = 32,
                 grid_size=2,
                 upsample_factor: int = 4,
                 base_stride: int = 2,
                 mask_weighting: str = 'cls+loc',
                 max_masks_to_train: int = 300,
                 min_box_area: float = 4.0,
                 loss_mask_weight: float = 1.0,
                 rescoring: Optional[dict] = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.mask_weighting = self._check_weighting(mask_weighting)
        self.num_levels = num_levels
        self.num_bases = num_bases
        self.upsample_factor = self._check_upsample_factor(upsample_factor)
        self.max_masks_to_train = max_masks_to_train
        self.min_box_area = min_box_area
        self.loss_mask_weight = loss_mask_weight
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.fuse = nn.Conv2d(in_channels * num_levels, basis_channels, 1)
        self.basis = nn.Conv2d(basis_channels, num_bases, 3, padding=1)
        self.blender = GranularityBlender(
            max_division=grid_size, shared_basis=True, base_stride=base_stride)
        self.num_coeff_channels = self.blender.num_cells * num_bases
        self.rescoring = MaskRescoringHead(**rescoring) if rescoring else None
        self._init_basis()

    def _init_basis(self) -> None:
        normal_init(self.fuse, std=0.01)
        normal_init(self.basis, std=0.01)

    def init_weights(self) -> None:
        super().init_weights()
        self._init_basis()

    def forward(self, x: tuple, positive_infos: InstanceList) -> tuple:
        """Basis masks (B, m, H/s, W/s) from the regression-tower features that the bbox
        head passes along with its positive infos / results (``.mask_feats``)."""
        feats = list(positive_infos.mask_feats[:self.num_levels])
        if len(feats) != self.num_levels:
            raise ValueError(f'the mask head fuses {self.num_levels} levels but the bbox head '
                             f'returned {len(feats)}: set bbox_head.mask_feat_levels='
                             f'{self.num_levels} (or mask_head.num_levels={len(feats)})')
        size = feats[0].shape[-2:]
        feats = [feats[0]] + [
            F.interpolate(f, size=size, mode='bilinear', align_corners=False) for f in feats[1:]
        ]
        bases = F.relu(self.basis(F.relu(self.fuse(torch.cat(feats, dim=1)))))
        bases = F.interpolate(bases, scale_factor=self.upsample_factor, mode='bilinear',
                              align_corners=False)
        return (bases, )
