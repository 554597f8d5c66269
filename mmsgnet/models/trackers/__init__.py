from .centerness_tracker import CenternessTracker

__all__ = ['CenternessTracker']
