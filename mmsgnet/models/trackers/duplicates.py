"""Duplicate detections of one object, and merged detections of several, found before
association; the centroid of a detection's mask (a tracker's ``center_mode='mask'``).

A one-stage detector's class-wise NMS can leave an object detected twice, under two classes.
Left to the tracker, the weaker copy starts a track of its own and later takes the object's
detection (SG-Net, nearest track) or competes for its track (SipMask-VIS); both trackers can
suppress such copies first: a detection whose mask IoU (box IoU where there are no masks)
with a higher-scored detection of the frame is at least a threshold is a duplicate -- a
cross-class mask NMS applied before tracking (the papers leave it open). The converse, one
box over two overlapping tracked objects, is :func:`merged_detections`.
"""
from typing import Optional

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.structures.bbox import bbox_overlaps
from ..utils.mask_ops import pixel_centres


def _mask_tensor(masks) -> Tensor:
    """(N, H, W) masks (a tensor or ``BitmapMasks``) as a CPU tensor."""
    if not isinstance(masks, Tensor):  # BitmapMasks
        return torch.from_numpy(masks.to_ndarray())
    return masks.detach().cpu()


def pairwise_mask_iou(masks: Tensor) -> Tensor:
    """IoU of every pair of (N, H, W) binary masks: (N, N)."""
    flat = masks.flatten(1).float()
    inter = flat @ flat.t()
    area = flat.sum(1)
    union = (area[:, None] + area[None, :] - inter).clamp(min=1)
    return inter / union


def duplicate_mask(instances: InstanceData, iou_thr: Optional[float]) -> Tensor:
    """Which detections duplicate a higher-scored detection of the frame (bool (N, )).

    Detections are visited by descending score; one whose IoU with an earlier detection that
    is not itself a duplicate reaches ``iou_thr`` is a duplicate. ``iou_thr=None``: none.
    Mask IoU when ``instances`` has ``masks``, box IoU otherwise; labels are ignored.
    """
    num = len(instances)
    dup = torch.zeros(num, dtype=torch.bool)
    if iou_thr is None or num < 2:
        return dup
    if 'masks' in instances:
        ious = pairwise_mask_iou(_mask_tensor(instances.masks))
    else:
        boxes = instances.bboxes.detach().cpu().float()
        ious = bbox_overlaps(boxes, boxes)
    kept = []
    for i in torch.argsort(instances.scores.detach().cpu(), descending=True).tolist():
        if kept and bool((ious[i, kept] >= iou_thr).any()):
            dup[i] = True
        else:
            kept.append(i)
    return dup


def merged_detections(bboxes: Tensor, track_boxes: Tensor, size_thr: Optional[float]) -> Tensor:
    """Which detections look like one box over two or more tracked objects (bool (N, )).

    Where objects overlap, an undertrained one-stage model can detect them as one box. Such a
    detection contains the predicted box centres of two or more tracks and is larger than any
    of them: its area is at least ``size_thr`` times the largest of their areas.

    Args:
        bboxes (Tensor): (N, 4) detection boxes.
        track_boxes (Tensor): (T, 4) the tracks' boxes predicted for this frame.
        size_thr (float, optional): The area ratio; None: no detection is a merge.
    """
    merged = torch.zeros(len(bboxes), dtype=torch.bool)
    if size_thr is None or len(bboxes) == 0 or len(track_boxes) < 2:
        return merged
    boxes, tracks = bboxes.detach().cpu().float(), track_boxes.detach().cpu().float()
    centres = (tracks[:, :2] + tracks[:, 2:]) / 2
    inside = ((boxes[:, None, :2] <= centres[None]) & (centres[None] <= boxes[:, None, 2:])).all(-1)
    areas = (tracks[:, 2:] - tracks[:, :2]).clamp(min=0).prod(-1)
    largest = torch.where(inside, areas[None], torch.zeros_like(inside, dtype=areas.dtype)).amax(1)
    own = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(-1)
    return (inside.sum(1) >= 2) & (own >= size_thr * largest)


def mask_centroids(masks, fallback: Tensor) -> Tensor:
    """(N, 2) centroid ``(x, y)`` of each (N, H, W) binary mask, in the boxes' continuous
    pixel coordinates (pixel ``(px, py)`` at its centre ``(px + 0.5, py + 0.5)``);
    ``fallback`` (N, 2) where a mask is empty. ``masks``: a tensor or ``BitmapMasks``."""
    fallback = fallback.detach().cpu().float()
    if len(masks) == 0:
        return fallback
    masks = _mask_tensor(masks).float()
    area = masks.sum((1, 2))
    ys = pixel_centres(torch.arange(masks.shape[1], dtype=torch.float32), 1.0)
    xs = pixel_centres(torch.arange(masks.shape[2], dtype=torch.float32), 1.0)
    centroids = torch.stack([(masks.sum(1) * xs).sum(1), (masks.sum(2) * ys).sum(1)], 1)
    centroids = centroids / area.clamp(min=1)[:, None]
    return torch.where((area > 0)[:, None], centroids, fallback)
