"""MEInst's detection head (Zhang et al., CVPR 2020, Sec. 3.2, Fig. 2).

FCOS (the project's :class:`InstanceFCOSHead`: GIoU box loss by config, centerness on the
regression tower, centre sampling) plus a mask regression branch: its own tower of
``num_mask_convs`` x (3x3 conv, GN, ReLU) on the FPN level, parallel to the classification and
box towers, and a predictor of the N mask coefficients per location (no activation); the
coefficients are the head's per-location ``params``. Options (paper Table 5):

- ``deform_last_conv``: the last conv of every tower (cls, box, mask) is deformable
  (``dcn_cfg``, default the project's DCNv1 ``dict(type='DCNFast')``: mmcv's ``DCN`` on
  CUDA, a fast PyTorch path on CPU, same keys; the paper's "DC");
- ``mask_predictor='large_kernel'``: the 3x3 predictor becomes the large-kernel block
  (:class:`LargeKernelBlock`, the paper's "LK").

Inference (AdelaiDet): candidates with class score > ``score_thr`` before centerness, top
``nms_pre`` per level, score ``sqrt(cls x centerness)`` (``test_cfg.sqrt_score``, default
True), class-wise NMS, ``max_per_img``.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from .instance_fcos_head import InstanceFCOSHead

MASK_PREDICTORS = ('conv', 'large_kernel')


class LargeKernelBlock(nn.Module):
    """Global convolutional network block (Peng et al., 2017; MEInst's "LK"): the sum of
    (k x 1 -> 1 x k) and (1 x k -> k x 1) separable convs, "same" zero padding, no norm, no
    activation.

    Args:
        in_channels (int): Input channels. out_channels (int): Output channels.
        kernel_size (int): k (odd). Default 9.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 9) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'large-kernel kernel_size must be odd and >= 1, got {kernel_size}')
        k, p = kernel_size, kernel_size // 2
        self.path_a = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, (k, 1), padding=(p, 0)),
            nn.Conv2d(out_channels, out_channels, (1, k), padding=(0, p)))
        self.path_b = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, (1, k), padding=(0, p)),
            nn.Conv2d(out_channels, out_channels, (k, 1), padding=(p, 0)))

    def forward(self, x: Tensor) -> Tensor:
        return self.path_a(x) + self.path_b(x)


@MODELS.register_module()
class MEInstHead(InstanceFCOSHead):
    """FCOS + MEInst's mask regression branch (see module docstring).

    Args:
        num_classes (int): Number of foreground classes.
        in_channels (int): FPN channels.
        num_params (int): Outputs of the mask predictor: N coefficients (explicit or implicit
            encoding, 60 in the paper) or 784 (no encoding). Must equal the mask head's
            ``num_params``. 0 removes the mask branch (FCOS, paper Table 6). Default 60.
        num_mask_convs (int, optional): Convs of the mask tower (default ``stacked_convs``).
        deform_last_conv (bool): Last conv of the cls, box and mask towers deformable.
        dcn_cfg (dict): Conv config of those convs. Default ``dict(type='DCNFast')``
            (DCNv1, the same keys as mmcv's ``DCN``).
        mask_predictor (str): 'conv' (3x3) or 'large_kernel'. Default 'conv'.
        large_kernel_size (int): k of the large-kernel block. Default 9.
        **kwargs: :class:`mmdet.models.FCOSHead` arguments.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_params: int = 60,
                 num_mask_convs: Optional[int] = None,
                 deform_last_conv: bool = False,
                 dcn_cfg: ConfigType = dict(type='DCNFast'),
                 mask_predictor: str = 'conv',
                 large_kernel_size: int = 9,
                 **kwargs) -> None:
        if mask_predictor not in MASK_PREDICTORS:
            raise ValueError(f'mask_predictor must be one of {MASK_PREDICTORS}, '
                             f'got {mask_predictor!r}')
        if num_params < 0:
            raise ValueError(f'num_params must be >= 0, got {num_params}')
        self.num_params = num_params
        self.num_mask_convs = num_mask_convs
        self.deform_last_conv = deform_last_conv
        self.dcn_cfg = dcn_cfg
        self.mask_predictor = mask_predictor
        self.large_kernel_size = large_kernel_size
        self.feature_align = False
        self.mask_feat_levels = 0
        if kwargs.get('dcn_on_last_conv'):
            raise ValueError('MEInstHead: use deform_last_conv=True (mmdet\'s dcn_on_last_conv '
                             'inserts DCNv2 in the cls/box towers only)')
        super().__init__(num_classes, in_channels, **kwargs)

    # ------------------------------------------------------------------ layers
    def _tower(self, num_convs: int) -> nn.ModuleList:
        """``num_convs`` x (3x3 conv, norm, ReLU); the last one deformable if asked (no bias,
        as AdelaiDet's); the others with a bias when ``conv_bias`` is True (AdelaiDet's
        towers have one even before GN)."""
        convs = nn.ModuleList()
        for i in range(num_convs):
            deform = self.deform_last_conv and i == num_convs - 1
            convs.append(ConvModule(
                self.in_channels if i == 0 else self.feat_channels, self.feat_channels, 3,
                stride=1, padding=1, conv_cfg=self.dcn_cfg if deform else self.conv_cfg,
                norm_cfg=self.norm_cfg,
                bias=False if deform else self.conv_bias))  # mmcv's DCN has no bias
        return convs

    def _init_cls_convs(self) -> None:
        self.cls_convs = self._tower(self.stacked_convs)

    def _init_reg_convs(self) -> None:
        self.reg_convs = self._tower(self.stacked_convs)

    def _init_layers(self) -> None:
        super()._init_layers()
        if self.num_params == 0:
            return
        num_convs = self.stacked_convs if self.num_mask_convs is None else self.num_mask_convs
        self.mask_convs = self._tower(num_convs)
        channels = self.feat_channels if num_convs > 0 else self.in_channels
        if self.mask_predictor == 'conv':
            self.conv_mask = nn.Conv2d(channels, self.num_params, 3, padding=1)
        else:
            self.conv_mask = LargeKernelBlock(channels, self.num_params, self.large_kernel_size)

    # ----------------------------------------------------------------- forward
    def forward_single(self, x: Tensor, scale, stride: int) -> tuple:
        """FCOS outputs of the level and the coefficients from the mask tower, which reads the
        FPN level ``x`` itself (not the cls / box tower)."""
        cls_score, bbox_pred, centerness, _, mask_feat = super().forward_single(x, scale, stride)
        return cls_score, bbox_pred, centerness, self.predict_coeffs(x), mask_feat

    def predict_params(self, cls_feat: Tensor, ctr_feat: Tensor) -> None:
        """Unused: MEInst's parameters come from its own tower (:meth:`predict_coeffs`)."""
        return None

    def predict_coeffs(self, x: Tensor) -> Tensor:
        """(B, num_params, H, W) raw mask coefficients (no activation)."""
        if self.num_params == 0:
            return x.new_zeros((x.shape[0], 0) + x.shape[2:])
        for conv in self.mask_convs:
            x = conv(x)
        return self.conv_mask(x)

    # --------------------------------------------------------------- inference
    def _bbox_post_process(self,
                           results: InstanceData,
                           cfg: ConfigType,
                           rescale: bool = False,
                           with_nms: bool = True,
                           img_meta: Optional[dict] = None) -> InstanceData:
        """AdelaiDet's score ``sqrt(cls x centerness)`` before the NMS (mmdet's own post
        processing would rank by the plain product)."""
        if cfg.get('sqrt_score', True) and 'score_factors' in results:
            results.scores = torch.sqrt(results.scores * results.pop('score_factors'))
        return super()._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                          img_meta=img_meta)
