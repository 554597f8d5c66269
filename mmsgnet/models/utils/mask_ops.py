"""Mask geometry shared by the mask heads: one pixel convention, written once.

Convention (pixel centres): pixel ``(px, py)`` of a map at stride ``s`` covers the input area
``[px * s, (px + 1) * s) x [py * s, (py + 1) * s)`` and stands for its centre
``((px + 0.5) * s, (py + 0.5) * s)``; a box ``(x1, y1, x2, y2)`` is continuous, in input pixels.
Every resampling below (base grid -> image, box-local mask -> image, image mask -> box-local
grid, image mask -> base grid) maps pixel centres to pixel centres, so cropping a mask to a
box and pasting it back into the same box reproduces it (up to the resampling blur). A map
pixel is inside a box when its centre is: ``x1 <= (px + 0.5) * s < x2`` (rows alike;
:func:`centre_span`), which the granularity blender uses for its crop and sub-region cells.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# elements of one (N, H, W) temporary materialised at once by ``paste_box_masks``
_PASTE_CHUNK_ELEMENTS = 1 << 24


def pixel_centres(index: Tensor, stride: float) -> Tensor:
    """Input coordinates ``(index + 0.5) * stride`` of the centres of map pixels ``index``."""
    return (index + 0.5) * stride


def centre_span(lo: Tensor, hi: Tensor, stride: float) -> Tuple[Tensor, Tensor]:
    """The map pixels at ``stride`` whose centres lie in ``[lo, hi)`` (input coordinates).

    ``lo <= (p + 0.5) * s < hi`` holds for ``first <= p < last`` with
    ``first = ceil(lo / s - 0.5)`` and ``last = ceil(hi / s - 0.5)`` (not clamped to the map).

    Returns:
        tuple[Tensor, Tensor]: ``first`` and ``last`` (exclusive), floating point.
    """
    return torch.ceil(lo / stride - 0.5), torch.ceil(hi / stride - 0.5)


def masks_to_grid(masks: Tensor, size: Sequence[int], threshold: float = 0.5) -> Tensor:
    """Binary masks (M, H, W) at input resolution -> (M, h, w) on a map of stride ``H / h``:
    each map pixel reads the mask at its centre (bilinear, ``align_corners=False``) and is
    1 where that value exceeds ``threshold`` (the mask heads' training targets).

    Returns:
        Tensor: (M, h, w) float in {0, 1}.
    """
    masks = masks.float()
    if masks.shape[0] == 0:
        return masks.new_zeros((0, int(size[0]), int(size[1])))
    resized = F.interpolate(masks[None], size=(int(size[0]), int(size[1])), mode='bilinear',
                            align_corners=False)[0]
    return (resized > threshold).float()


def _output_geometry(bboxes: Tensor, img_meta: dict,
                     rescale: bool) -> Tuple[Tensor, int, int, int, int]:
    """Boxes in output pixels and (out_h, out_w, img_h, img_w) of ``img_meta``."""
    img_h, img_w = img_meta['img_shape'][:2]
    out_h, out_w = img_meta['ori_shape'][:2] if rescale else (img_h, img_w)
    if rescale:
        scale = bboxes.new_tensor(img_meta['scale_factor']).repeat(2)
        bboxes = bboxes / scale
    return bboxes, out_h, out_w, img_h, img_w


def paste_masks_to_image(probs: Tensor, bboxes: Tensor, img_meta: dict, stride: int,
                         rescale: bool, threshold: float) -> Tuple[Tensor, Tensor]:
    """Turn mask probabilities on the (padded) network input grid into binary image masks.

    Args:
        probs (Tensor): (N, h, w) probabilities at ``stride`` of the padded input.
        bboxes (Tensor): (N, 4) boxes in network-input pixels.
        img_meta (dict): With ``img_shape`` (resized, unpadded), ``ori_shape`` and
            ``scale_factor`` (w, h).
        stride (int): Stride of ``probs`` in input pixels.
        rescale (bool): Return masks at ``ori_shape`` and boxes in original pixels;
            otherwise at ``img_shape`` in input pixels.
        threshold (float): Binarisation threshold.

    Returns:
        tuple: bool masks (N, H, W) and the boxes.
    """
    bboxes, out_h, out_w, img_h, img_w = _output_geometry(bboxes, img_meta, rescale)
    if probs.shape[0] == 0:
        return probs.new_zeros((0, out_h, out_w), dtype=torch.bool), bboxes
    # One bilinear resampling from the base grid straight to the output grid (instead of
    # upsampling to the padded input, cropping and resizing again): output pixel centre
    # -> network-input coordinate -> base-map coordinate, normalised for grid_sample.
    base_h, base_w = probs.shape[-2:]
    ys = (torch.arange(out_h, device=probs.device, dtype=probs.dtype) + 0.5) * (img_h / out_h)
    xs = (torch.arange(out_w, device=probs.device, dtype=probs.dtype) + 0.5) * (img_w / out_w)
    gy = ys / (stride * base_h) * 2 - 1
    gx = xs / (stride * base_w) * 2 - 1
    grid = torch.stack([gx[None, :].expand(out_h, out_w), gy[:, None].expand(out_h, out_w)], -1)
    probs = F.grid_sample(probs[None], grid[None], mode='bilinear', padding_mode='border',
                          align_corners=False)[0]
    return probs > threshold, bboxes


def paste_box_masks(masks: Tensor, bboxes: Tensor, out_shape: Sequence[int],
                    threshold: Optional[float] = None) -> Tensor:
    """Paste box-local masks (MEInst's 28 x 28, FASSST's 56 x 56) into their boxes.

    Output pixel ``(x, y)`` (centre ``x + 0.5``) reads box-local coordinate
    ``(x + 0.5 - x1) / (x2 - x1) * w`` by bilinear interpolation (``align_corners=False``:
    box-local pixel ``j`` has its centre at ``x1 + (j + 0.5) (x2 - x1) / w``); outside the
    box the mask fades to 0 over half a box-local pixel, as mmdet's ``_do_paste_mask``.

    Args:
        masks (Tensor): (N, h, w) probabilities (or logits) in box-local coordinates.
        bboxes (Tensor): (N, 4) boxes in output pixels.
        out_shape (tuple): (H, W) of the output.
        threshold (float, optional): If given, return ``probs > threshold`` (bool).

    Returns:
        Tensor: (N, H, W), float (or bool with ``threshold``).
    """
    out_h, out_w = int(out_shape[0]), int(out_shape[1])
    num = masks.shape[0]
    dtype = torch.bool if threshold is not None else masks.dtype
    out = masks.new_zeros((num, out_h, out_w), dtype=dtype)
    if num == 0:
        return out
    masks = masks.float()
    boxes = bboxes.to(masks)
    xs = torch.arange(out_w, device=masks.device, dtype=masks.dtype) + 0.5
    ys = torch.arange(out_h, device=masks.device, dtype=masks.dtype) + 0.5
    chunk = max(1, _PASTE_CHUNK_ELEMENTS // max(out_h * out_w, 1))
    for start in range(0, num, chunk):
        b = boxes[start:start + chunk]
        x1, y1, x2, y2 = (b[:, i:i + 1] for i in range(4))
        gx = (xs[None] - x1) / (x2 - x1).clamp(min=1e-6) * 2 - 1  # (n, W)
        gy = (ys[None] - y1) / (y2 - y1).clamp(min=1e-6) * 2 - 1  # (n, H)
        grid = torch.stack([gx[:, None, :].expand(-1, out_h, -1),
                            gy[:, :, None].expand(-1, -1, out_w)], dim=-1)
        pasted = F.grid_sample(masks[start:start + chunk, None], grid, mode='bilinear',
                               padding_mode='zeros', align_corners=False)[:, 0]
        out[start:start + chunk] = pasted > threshold if threshold is not None else pasted
    return out


def paste_box_masks_to_image(masks: Tensor, bboxes: Tensor, img_meta: dict, rescale: bool,
                             threshold: float) -> Tuple[Tensor, Tensor]:
    """:func:`paste_box_masks` for a detection result: boxes in network-input pixels; with
    ``rescale`` the masks are pasted at ``ori_shape`` into the rescaled boxes, otherwise at
    ``img_shape``. Returns bool masks (N, H, W) and the (rescaled) boxes."""
    bboxes, out_h, out_w, _, _ = _output_geometry(bboxes, img_meta, rescale)
    return paste_box_masks(masks, bboxes, (out_h, out_w), threshold), bboxes


def crop_masks_to_boxes(masks: Tensor, bboxes: Tensor, size: Sequence[int],
                        inds: Optional[Tensor] = None) -> Tensor:
    """Box-local targets: the inverse of :func:`paste_box_masks` (pixel centres).

    Box-local pixel ``(i, j)`` of an ``h x w`` grid averages the mask over the area of its cell
    ``[x1 + j (x2 - x1) / w, x1 + (j + 1) (x2 - x1) / w)`` (rows alike), with mmcv's
    ``roi_align(aligned=True)`` (adaptive sampling), i.e. at pixel centres.

    Args:
        masks (Tensor): (M, H, W) masks (bool or float) in the boxes' pixel frame.
        bboxes (Tensor): (N, 4) boxes.
        size (tuple): (h, w) of the output grid.
        inds (Tensor, optional): (N,) index of each box's mask in ``masks``
            (default: box i reads mask i).

    Returns:
        Tensor: (N, h, w) float in [0, 1] for binary inputs.
    """
    from mmcv.ops import roi_align
    out_h, out_w = int(size[0]), int(size[1])
    num = bboxes.shape[0]
    if num == 0:
        return bboxes.new_zeros((0, out_h, out_w), dtype=torch.float)
    if inds is None:
        inds = torch.arange(num, device=bboxes.device)
    # mmcv's CPU kernel reads the memory as contiguous: a transposed (e.g. Fortran-ordered
    # numpy, as pycocotools decodes) mask would be read in the wrong order
    masks = masks.float().contiguous()
    rois = torch.cat([inds.to(bboxes)[:, None].float(), bboxes.float()], dim=1)
    return roi_align(masks[:, None].to(rois.device), rois, (out_h, out_w), 1.0, 0, 'avg',
                     True)[:, 0]
