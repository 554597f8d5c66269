from .centerness_tracker import CenternessTracker
from .sipmask_vis_tracker import SipMaskVISTracker

__all__ = ['CenternessTracker', 'SipMaskVISTracker']
