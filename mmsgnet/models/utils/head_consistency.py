"""Build-time agreement of a detector's bbox head and blender mask head.

The mask head reads the first ``num_coeff_channels`` of the bbox head's per-location
``params`` with its own grid / G, d and number of bases, and places its base masks at its own
stride, so the two heads must agree on:

- SipMask: the grid (``bbox_head.grid_size`` / ``mask_head.grid_size``), the number of basis
  masks m (``num_bases``), the levels feeding the basis masks (``bbox_head.mask_feat_levels``
  / ``mask_head.num_levels``), and the basis stride (``mask_head.base_stride`` =
  ``bbox_head.strides[0] / mask_head.upsample_factor``);
- SG-Net: G (``max_division``), d (``attention_dim``) and the stride of the first level the
  base mask module reads (``mask_head.p3_stride`` = ``bbox_head.strides[feat_levels[0]]``).

:func:`derive_head_cfgs` fills, in the configs, what one head gives and the other does not set
(a value set on one side only is copied to the other; a missing stride is computed);
:func:`check_heads` then compares the built heads and raises a ``ValueError`` that names both
config keys. A mismatch would otherwise read the wrong coefficients silently (a 2x2 bbox head
with a 1x1 mask head uses the top-left coefficients only) or die in a reshape at the first
forward.
"""
import copy
from typing import Tuple

# mask head type -> (bbox head key, mask head key) pairs that must be equal
_PAIRED_KEYS = {
    'SipMaskMaskHead': (('grid_size', 'grid_size'), ('num_bases', 'num_bases'),
                        ('mask_feat_levels', 'num_levels')),
    'SGNetMaskHead': (('max_division', 'max_division'), ('attention_dim', 'attention_dim')),
}


def _grid(value) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    rows, cols = value
    return int(rows), int(cols)


def derive_head_cfgs(bbox_head: dict, mask_head: dict) -> Tuple[dict, dict]:
    """Copies of the two head configs with the derivable values filled in.

    A paired value (see the module docstring) set in one config only is copied to the other;
    SipMask's ``mask_head.base_stride`` (when not set) is ``bbox_head.strides[0] /
    upsample_factor`` and SG-Net's ``mask_head.p3_stride`` (when not set) is
    ``bbox_head.strides[feat_levels[0]]``, when the bbox config gives ``strides``. Configs of
    other mask heads are returned unchanged.
    """
    if bbox_head is None or mask_head is None:
        return bbox_head, mask_head
    mask_type = mask_head.get('type')
    if mask_type not in _PAIRED_KEYS:
        return bbox_head, mask_head
    bbox_head, mask_head = copy.deepcopy(bbox_head), copy.deepcopy(mask_head)
    for bbox_key, mask_key in _PAIRED_KEYS[mask_type]:
        if bbox_key in bbox_head and mask_key not in mask_head:
            mask_head[mask_key] = copy.deepcopy(bbox_head[bbox_key])
        elif mask_key in mask_head and bbox_key not in bbox_head:
            bbox_head[bbox_key] = copy.deepcopy(mask_head[mask_key])
    strides = bbox_head.get('strides')
    if strides:
        first = _stride(strides[0])
        upsample = mask_head.get('upsample_factor', 4)
        if mask_type == 'SipMaskMaskHead' and 'base_stride' not in mask_head and upsample:
            base_stride = first / upsample
            mask_head['base_stride'] = int(base_stride) if base_stride.is_integer() else base_stride
        if mask_type == 'SGNetMaskHead' and 'p3_stride' not in mask_head:
            level = tuple(mask_head.get('feat_levels', (0, )))[0]
            if 0 <= level < len(strides):
                mask_head['p3_stride'] = _stride(strides[level])
    return bbox_head, mask_head


def _stride(stride) -> int:
    """A level stride (int, or mmdet's (w, h) pair with w == h)."""
    return int(stride[0]) if isinstance(stride, (tuple, list)) else int(stride)


def _mismatch(bbox_key: str, bbox_value, mask_key: str, mask_value, what: str) -> ValueError:
    return ValueError(
        f'model.bbox_head.{bbox_key}={bbox_value!r} and model.mask_head.{mask_key}='
        f'{mask_value!r} disagree: the mask head must read the {what} the bbox head '
        f'predicts. Set both to the same value (or set only one of them: the detector copies '
        f'it to the other)')


def check_heads(bbox_head, mask_head) -> None:
    """Raise a ``ValueError`` naming both config keys if the built heads disagree (see the
    module docstring); other mask heads are not checked."""
    name = type(mask_head).__name__
    if name == 'SipMaskMaskHead':
        pairs = (('grid_size', _grid(bbox_head.grid_size), 'grid_size', mask_head.blender.grid,
                  'sub-region grid (rows, cols) of coefficient sets'),
                 ('num_bases', bbox_head.num_bases, 'num_bases', mask_head.num_bases,
                  'number of basis coefficients per sub-region'),
                 ('mask_feat_levels', bbox_head.mask_feat_levels, 'num_levels',
                  mask_head.num_levels, 'number of levels of basis-mask features'))
        first_level = 0
    elif name == 'SGNetMaskHead':
        pairs = (('max_division', (bbox_head.max_division, ) * 2, 'max_division',
                  mask_head.blender.grid, 'G x G grid of attention scores'),
                 ('attention_dim', bbox_head.attention_dim, 'attention_dim',
                  mask_head.attention_dim, 'attention dimension d per sub-region'))
        first_level = mask_head.feat_levels[0]
    else:
        return
    for bbox_key, bbox_value, mask_key, mask_value, what in pairs:
        if bbox_value != mask_value:
            raise _mismatch(bbox_key, bbox_value, mask_key, mask_value, what)
    if not 0 <= first_level < len(bbox_head.strides):
        raise ValueError(f'model.mask_head.feat_levels={tuple(mask_head.feat_levels)!r} reads '
                         f'level {first_level}, but model.bbox_head.strides has '
                         f'{len(bbox_head.strides)} levels')
    level_stride = _stride(bbox_head.strides[first_level])
    base_stride = mask_head.blender.base_stride
    if base_stride * mask_head.upsample_factor == level_stride:
        return
    if name == 'SipMaskMaskHead':
        key, value, fix = 'base_stride', base_stride, level_stride / mask_head.upsample_factor
    else:
        key, value, fix = 'p3_stride', mask_head.p3_stride, level_stride
    raise ValueError(
        f'model.mask_head.{key}={value!r} (with model.mask_head.upsample_factor='
        f'{mask_head.upsample_factor}: base masks at stride {base_stride}) does not fit '
        f'model.bbox_head.strides[{first_level}]={level_stride}, the stride of the level the '
        f'base masks are upsampled from: the masks would be placed at the wrong scale. Leave '
        f'model.mask_head.{key} unset (the detector derives it) or set it to {fix:g}')
