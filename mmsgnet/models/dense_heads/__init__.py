from .blender_mask_head import BlenderMaskHead
from .fassst_head import FASSSTHead
from .fassst_mask_head import FASSSTMaskHead
from .instance_fcos_head import FeaturedInstanceList, InstanceFCOSHead
from .meinst_head import LargeKernelBlock, MEInstHead
from .meinst_mask_head import MEInstMaskHead
from .sgnet_head import SGNetHead
from .sgnet_mask_head import SGNetMaskHead
from .sipmask_head import SipMaskHead
from .sipmask_mask_head import SipMaskMaskHead

__all__ = [
    'BlenderMaskHead', 'FASSSTHead', 'FASSSTMaskHead', 'FeaturedInstanceList',
    'InstanceFCOSHead', 'LargeKernelBlock', 'MEInstHead', 'MEInstMaskHead', 'SGNetHead',
    'SGNetMaskHead', 'SipMaskHead', 'SipMaskMaskHead'
]
