"""Models of mmsgnet: every module registers itself into ``mmdet.registry.MODELS``."""
from . import (backbones, dense_heads, detectors, layers, losses, trackers,  # noqa: F401
               tracking_heads, vis)
