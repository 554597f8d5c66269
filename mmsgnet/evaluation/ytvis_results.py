"""Video result assembly: a predicted video (frames with ``pred_track_instances``) -> the
YouTube-VIS results format, one record per track id (authors' ``results2json_videoseg``):

    {'video_id': int, 'category_id': int, 'score': float,
     'segmentations': [RLE (counts as str) or None, one per frame]}

score = mean of the track's per-frame detection scores; category = majority vote of its
per-frame labels (ties -> the smaller label). Shared by the YouTube-VIS metric and the video
demo, for every VIS model of this package.
"""
from collections import defaultdict
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from mmsgnet.datasets.coco_format import encode_rle


class EncodedFrame(NamedTuple):
    """One frame's tracked instances with the masks as RLE (JSON-ready, small in memory)."""
    rles: List[dict]
    scores: np.ndarray  # (N,)
    labels: np.ndarray  # (N,)
    instances_id: np.ndarray  # (N,)


def encode_frame(frame) -> EncodedFrame:
    """An ``InstanceData`` (or ``DetDataSample`` with ``pred_track_instances``) with bool
    ``masks`` (N, H, W), ``scores``, ``labels`` and ``instances_id`` -> :class:`EncodedFrame`."""
    pred = getattr(frame, 'pred_track_instances', frame)
    masks = _numpy(pred.masks) if len(pred) else []
    return EncodedFrame([encode_rle(mask) for mask in masks], _numpy(pred.scores),
                        _numpy(pred.labels), _numpy(pred.instances_id))


def video_to_ytvis_results(frames: Sequence, video_id: int,
                           cat_ids: Optional[Sequence[int]] = None,
                           with_track_id: bool = False) -> List[Dict]:
    """Records of one video in the YouTube-VIS results format.

    Args:
        frames (Sequence): Per frame in frame order, an :class:`EncodedFrame` or what
            :func:`encode_frame` takes.
        video_id (int): The video's id in the annotation file.
        cat_ids (Sequence[int], optional): Category id of each label; default ``label + 1``.
        with_track_id (bool): Also write the tracker's id as ``track_id`` (not part of the
            official format; the demo's JSON has it). Default False.

    Returns:
        list[dict]: One record per track id, ordered by id.
    """
    tracks = defaultdict(lambda: dict(labels=[], scores=[], segmentations={}))
    for t, frame in enumerate(frames):
        if not isinstance(frame, EncodedFrame):
            frame = encode_frame(frame)
        for rle, score, label, track_id in zip(*frame):
            track = tracks[int(track_id)]
            track['labels'].append(int(label))
            track['scores'].append(float(score))
            track['segmentations'][t] = rle
    results = []
    for track_id in sorted(tracks):
        track = tracks[track_id]
        label = int(np.bincount(track['labels']).argmax())
        record = dict(
            video_id=int(video_id),
            category_id=int(cat_ids[label]) if cat_ids is not None else label + 1,
            score=float(np.mean(track['scores'])),
            segmentations=[track['segmentations'].get(t) for t in range(len(frames))])
        if with_track_id:
            record['track_id'] = track_id
        results.append(record)
    return results


def _numpy(values) -> np.ndarray:
    return values.detach().cpu().numpy() if hasattr(values, 'detach') else np.asarray(values)
