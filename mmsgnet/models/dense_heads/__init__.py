from .instance_fcos_head import InstanceFCOSHead
from .sipmask_head import SipMaskHead
from .sipmask_mask_head import SipMaskMaskHead

__all__ = ['InstanceFCOSHead', 'SipMaskHead', 'SipMaskMaskHead']
