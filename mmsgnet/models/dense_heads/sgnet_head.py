"""SG-Net's detection head (Liu et al., CVPR 2021, Sec. 3.1-3.3).

FCOS (with the ``-ln((1 + GIoU) / 2)`` box loss, set in the config) plus

- the spatial attention module (SAM): two 3x3 convs (GN, ReLU), shared over P3-P7, on the
  box-aligned classification feature (the "instance-aware connection" from the box
  regression), then a conv to ``G * G * d`` attention scores per location;
- the centerness tracking head: after the centerness branch, a 1x1 conv predicting the 2-d
  movement ``D = o_t - o_{t-1}`` of the centerness location, in units of the level stride.

Per location the head's ``params`` are ``[attention (G*G*d) | movement (2)]``; they travel
with the positives / detections to :class:`SGNetMaskHead` and to the tracker.
"""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import normal_init
from torch import Tensor

from mmdet.registry import MODELS
from ..layers.feature_align import FeatureAlign
from .instance_fcos_head import InstanceFCOSHead


@MODELS.register_module()
class SGNetHead(InstanceFCOSHead):
    """FCOS + spatial attention module + centerness movement.

    Args:
        num_classes (int): Number of foreground classes.
        in_channels (int): FPN channels.
        max_division (int): G, the largest number of sub-regions per box side. Default 6.
        attention_dim (int): d, attention channels per sub-region (1: a scalar a_j).
        attention_convs (int): 3x3 convs of the SAM before its output conv. Default 2.
        feature_align (bool): Box-guided deformable alignment of the classification
            feature that SAM and the classifier read. Default True.
        deform_groups (int): Offset groups of the alignment conv. Default 4.
        deform_impl (str): Its implementation: 'auto' (mmcv's op on CUDA, PyTorch on CPU),
            'mmcv' or 'torch' (:class:`DeformConv2dFast`). Default 'auto'.
        with_track (bool): Predict the centerness movement. Default True.
        **kwargs: :class:`mmdet.models.FCOSHead` arguments.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 max_division: int = 6,
                 attention_dim: int = 1,
                 attention_convs: int = 2,
                 feature_align: bool = True,
                 deform_groups: int = 4,
                 deform_impl: str = 'auto',
                 with_track: bool = True,
                 **kwargs) -> None:
        if max_division < 1 or attention_dim < 1:
            raise ValueError(f'max_division and attention_dim must be >= 1, got '
                             f'{max_division} and {attention_dim}')
        self.max_division = max_division
        self.attention_dim = attention_dim
        self.attention_convs = attention_convs
        self.feature_align = feature_align
        self.deform_groups = deform_groups
        self.deform_impl = deform_impl
        self.with_track = with_track
        self.num_attention = max_division * max_division * attention_dim
        self.num_params = self.num_attention + (2 if with_track else 0)
        super().__init__(num_classes, in_channels, **kwargs)

    def _init_layers(self) -> None:
        super()._init_layers()
        if self.feature_align:
            self.align = FeatureAlign(self.feat_channels, self.feat_channels,
                                      deform_groups=self.deform_groups, norm_cfg=self.norm_cfg,
                                      deform_impl=self.deform_impl)
        self.sam_convs = nn.Sequential(*[
            ConvModule(self.feat_channels, self.feat_channels, 3, padding=1,
                       norm_cfg=self.norm_cfg, bias=self.norm_cfg is None)
            for _ in range(self.attention_convs)
        ])
        self.conv_attention = nn.Conv2d(self.feat_channels, self.num_attention, 3, padding=1)
        if self.with_track:
            self.conv_track = nn.Conv2d(self.feat_channels, 2, 1)

    def init_weights(self) -> None:
        super().init_weights()
        for m in self.sam_convs.modules():
            if isinstance(m, nn.Conv2d):
                normal_init(m, std=0.01)
        normal_init(self.conv_attention, std=0.01)
        if self.with_track:
            normal_init(self.conv_track, std=0.01)

    def predict_params(self, cls_feat: Tensor, ctr_feat: Tensor) -> Tensor:
        """[attention (G*G*d) | movement (2, stride units)] per location: SAM on the aligned
        classification feature, the movement from the centerness branch's feature."""
        params = [self.conv_attention(self.sam_convs(cls_feat))]
        if self.with_track:
            params.append(self.conv_track(ctr_feat))
        return torch.cat(params, dim=1)
