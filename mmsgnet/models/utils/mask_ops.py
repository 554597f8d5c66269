"""Mask geometry shared by the mask heads."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


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
    img_h, img_w = img_meta['img_shape'][:2]
    out_h, out_w = img_meta['ori_shape'][:2] if rescale else (img_h, img_w)
    if rescale:
        scale = bboxes.new_tensor(img_meta['scale_factor']).repeat(2)
        bboxes = bboxes / scale
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
