"""Models of mmsgnet: every module registers itself into ``mmdet.registry.MODELS``."""
from . import backbones, dense_heads, detectors, layers, losses, trackers, vis  # noqa: F401
