"""Building blocks shared by the heads: mask assembly and box/cell geometry."""
from .granularity_blender import (BoxPixels, GranularityBlender, canonical_cell,
                                  division_grid)

from .feature_align import FeatureAlign
from .mask_rescoring import MaskRescoringHead

__all__ = [
    'FeatureAlign', 'MaskRescoringHead', 'BoxPixels', 'GranularityBlender', 'canonical_cell',
    'division_grid'
]
