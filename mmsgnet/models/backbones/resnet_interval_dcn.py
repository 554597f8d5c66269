"""ResNet with deformable convs in every n-th block of chosen stages (SipMask++ / YOLACT++)."""
import torch.nn as nn

from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS


@MODELS.register_module()
class ResNetIntervalDCN(ResNet):
    """mmdet's ResNet whose DCN stages put a deformable conv only in blocks
    ``0, dcn_interval, 2 * dcn_interval, ...`` (the authors: interval 3, stages 2-4).

    Args:
        dcn_interval (int): Interval of DCN blocks within a DCN stage. Default 3.
        **kwargs: :class:`mmdet.models.ResNet` arguments (``dcn``, ``stage_with_dcn``, ...).
    """

    def __init__(self, dcn_interval: int = 3, **kwargs) -> None:
        if dcn_interval < 1:
            raise ValueError(f'dcn_interval must be >= 1, got {dcn_interval}')
        self.dcn_interval = dcn_interval
        super().__init__(**kwargs)

    def make_res_layer(self, **kwargs) -> nn.Module:
        layer = super().make_res_layer(**kwargs)
        for i, block in enumerate(layer):
            if getattr(block, 'with_dcn', False) and i % self.dcn_interval != 0:
                dcn = block.conv2
                block.conv2 = nn.Conv2d(dcn.in_channels, dcn.out_channels, dcn.kernel_size,
                                        stride=dcn.stride, padding=dcn.padding,
                                        dilation=dcn.dilation, bias=False)
                block.with_dcn = False
        return layer
