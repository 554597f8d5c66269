"""Building blocks shared by the heads: mask assembly and box/cell geometry."""
from .deform_conv import DeformConv2dFast, DeformConv2dFastPack, deform_conv2d_torch
from .feature_align import FeatureAlign
from .granularity_blender import BoxPixels, GranularityBlender, canonical_cell, division_grid
from .mask_rescoring import MaskRescoringHead
from .roi_feature_fusion import RoIFeatureFusion, fuse_roi_features

__all__ = [
    'DeformConv2dFast', 'DeformConv2dFastPack', 'deform_conv2d_torch',
    'FeatureAlign', 'MaskRescoringHead', 'BoxPixels', 'GranularityBlender', 'canonical_cell',
    'division_grid', 'RoIFeatureFusion', 'fuse_roi_features'
]
