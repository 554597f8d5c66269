"""SipMask's detection head (Cao et al., ECCV 2020, Sec. 3).

FCOS with (i) the feature alignment of the classification branch (a deformable conv whose
offsets come from the detached box regression), (ii) spatial coefficients: one ``m``-vector
per sub-region of a ``k_r x k_c`` grid over the box (the spatial preservation module), read
from the aligned feature, and (iii) the regression-tower outputs of P3-P5, from which
:class:`SipMaskMaskHead` builds the contextual basis masks.
"""
from typing import Sequence, Tuple, Union

import torch.nn as nn
from mmengine.model import normal_init
from torch import Tensor

from mmdet.registry import MODELS
from ..layers.feature_align import FeatureAlign
from .instance_fcos_head import InstanceFCOSHead


def _pair(value: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    rows, cols = value
    return int(rows), int(cols)


@MODELS.register_module()
class SipMaskHead(InstanceFCOSHead):
    """SipMask detection head: FCOS + feature alignment + spatial coefficients.

    Args:
        num_classes (int): Number of foreground classes.
        in_channels (int): FPN channels.
        num_bases (int): Basis masks ``m`` (coefficients per sub-region). Default 32.
        grid_size (int | tuple[int, int]): Sub-regions (rows, cols) of a box, the paper's
            ``k x k`` (Table 4 ablates 1x1 ... 4x4). Default 2.
        feature_align (bool): Use the box-guided deformable alignment for the
            classification / coefficient branch. Default True.
        deform_groups (int): Offset groups of the alignment conv. Default 4.
        deform_impl (str): Its implementation: 'auto' (mmcv's op on CUDA, PyTorch on CPU),
            'mmcv' or 'torch' (:class:`DeformConv2dFast`). Default 'auto'.
        mask_feat_levels (int): How many of the first levels' regression-tower outputs feed
            the basis masks: 3 = P3-P5 (contextual basis masks), 1 = P3 (the baseline).
        coeff_init_std (float): Std of the coefficient conv init (0.001 image, 0.01 video).
        **kwargs: :class:`mmdet.models.FCOSHead` arguments (``stacked_convs``,
            ``norm_cfg``, ``norm_on_bbox``, ``centerness_on_reg``, losses, ...).

    ``stacked_convs`` counts the regression tower; the classification tower has
    ``stacked_convs - 1`` convs followed by the alignment conv (as the authors' code).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_bases: int = 32,
                 grid_size: Union[int, Sequence[int]] = 2,
                 feature_align: bool = True,
                 deform_groups: int = 4,
                 deform_impl: str = 'auto',
                 mask_feat_levels: int = 3,
                 coeff_init_std: float = 0.001,
                 **kwargs) -> None:
        self.num_bases = num_bases
        self.grid_size = _pair(grid_size)
        if min(self.grid_size) < 1:
            raise ValueError(f'grid_size must be >= 1 per axis, got {grid_size}')
        self.feature_align = feature_align
        self.deform_groups = deform_groups
        self.deform_impl = deform_impl
        self.mask_feat_levels = mask_feat_levels
        self.coeff_init_std = coeff_init_std
        self.num_params = self.grid_size[0] * self.grid_size[1] * num_bases
        super().__init__(num_classes, in_channels, **kwargs)
        if not 1 <= mask_feat_levels <= len(self.strides):
            raise ValueError(f'mask_feat_levels must be in [1, {len(self.strides)}], '
                             f'got {mask_feat_levels}')

    def _init_cls_convs(self) -> None:
        super()._init_cls_convs()
        if self.feature_align:
            # the last conv of the classification tower is the alignment conv
            self.cls_convs = self.cls_convs[:-1]
            self.align = FeatureAlign(self.feat_channels, self.feat_channels,
                                      deform_groups=self.deform_groups, norm_cfg=self.norm_cfg,
                                      deform_impl=self.deform_impl)

    def _init_predictor(self) -> None:
        super()._init_predictor()
        self.conv_coeff = nn.Conv2d(self.feat_channels, self.num_params, 3, padding=1)

    def init_weights(self) -> None:
        super().init_weights()
        normal_init(self.conv_coeff, std=self.coeff_init_std)

    def predict_params(self, cls_feat: Tensor, ctr_feat: Tensor) -> Tensor:
        """Spatial coefficients (B, k_r*k_c*m, H, W) from the aligned feature."""
        return self.conv_coeff(cls_feat)

    def mask_feat(self, reg_feat: Tensor) -> Tensor:
        """The regression-tower output, from which the basis masks are built."""
        return reg_feat
