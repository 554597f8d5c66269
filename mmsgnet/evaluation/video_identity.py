"""Identity of one predicted video (issue 15): how well its tracks keep one id per object.

- :func:`track_statistics`: numbers of the predicted tracks alone (no ground truth needed):
  an object split between ids shows as more tracks, shorter on average, some of them short.
- :func:`load_gt_video`: the GT tracks of one video of an official YouTube-VIS file, found by
  name, checked against the predicted video (frame count, size).
- :func:`identity_summary`: ID switches and IDF1 of the predicted tracks against them
  (:func:`~mmsgnet.evaluation.video_identity_metrics`, mask IoU >= 0.5).
- :func:`match_objects`: per GT object and frame, its best mask IoU and the track id of its
  detection (the highest-scoring predicted mask with IoU >= 0.5): does it keep one id?
- :func:`video_identity_row`: all of it for one video, the row of
  ``tools/analysis_tools/identity_table.py``: video AP, mean mask IoU, objects with one id in
  all frames, tracks, IDSW, IDF1.

Predicted videos come as per-frame :class:`~mmsgnet.evaluation.EncodedFrame` s (or what
:func:`~mmsgnet.evaluation.encode_frame` takes) or as YouTube-VIS results records; masks are
compared as RLE.
"""
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_util

from mmsgnet.datasets.coco_format import encode_rle
from mmsgnet.datasets.validation import (AnnotationFileError, detect_annotation_format,
                                         load_annotation_json, video_name)
from mmsgnet.utils.errors import UserError
from .identity import as_rle, rle_ious, video_identity_metrics
from .ytvis_eval import evaluate_ytvis, to_rle
from .ytvis_results import EncodedFrame, encode_frame, video_to_ytvis_results

SHORT_TRACK_FRAMES = 2
MAX_NAMES_SHOWN = 10


class GroundTruthError(UserError, ValueError):
    """The ground truth asked for does not describe the predicted video (the video is not in
    the file, or has another frame count or size)."""


class GTVideo(NamedTuple):
    """One video of an official YouTube-VIS file.

    Attributes:
        name (str): Its name (``name``, else the folder of its ``file_names``).
        video (dict): Its record in ``videos``.
        annotations (list[dict]): Its tracks' records in ``annotations``.
        categories (list[dict]): The file's ``categories``.
        tracks (list[list[dict | None]]): Per track (the order of ``annotations``), per frame a
            compressed RLE (at the predicted size) or None where the object is absent.
    """
    name: str
    video: dict
    annotations: List[dict]
    categories: List[dict]
    tracks: List[List[Optional[dict]]]

    def as_ytvis(self) -> dict:
        """The video alone as an official YouTube-VIS document (what ``evaluate_ytvis``
        takes)."""
        return dict(videos=[self.video], annotations=self.annotations,
                    categories=self.categories)


class ObjectMatch(NamedTuple):
    """One GT object over a video.

    Attributes:
        ious (list[float]): Per frame it is present in, the best mask IoU of a predicted mask
            (0 when nothing is predicted).
        ids (list[int]): Per frame where it is detected (a predicted mask with IoU >= the
            threshold), the track id of the highest-scoring such mask.
    """
    ious: List[float]
    ids: List[int]

    @property
    def one_id_in_all_frames(self) -> bool:
        """Detected in every frame it is present in, always with the same id."""
        return len(self.ids) == len(self.ious) > 0 and len(set(self.ids)) == 1


# ------------------------------------------------------------------ without ground truth
def track_statistics(records: Sequence[dict],
                     short_frames: int = SHORT_TRACK_FRAMES) -> Dict[str, float]:
    """Numbers of the predicted tracks of one video, without ground truth.

    Args:
        records (Sequence[dict]): The video's YouTube-VIS results records (``segmentations``:
            one RLE or None per frame), one per track.
        short_frames (int): A track seen in at most this many frames is short. Default 2.

    Returns:
        dict: ``num_tracks``, ``mean_track_length`` (frames a track is seen in; 0 without
        tracks) and ``num_short_tracks``.
    """
    lengths = [sum(s is not None for s in record['segmentations']) for record in records]
    return dict(num_tracks=len(lengths),
                mean_track_length=float(np.mean(lengths)) if lengths else 0.0,
                num_short_tracks=sum(length <= short_frames for length in lengths))


# ------------------------------------------------------------------ ground truth
def load_gt_video(ann_file: str, name: str, num_frames: Optional[int] = None,
                  size: Optional[Tuple[int, int]] = None) -> GTVideo:
    """The video ``name`` of an official YouTube-VIS annotation file, checked against the
    predicted video.

    Args:
        ann_file (str): Official YouTube-VIS json (e.g. the generator's
            ``annotations/instances.json``; not the CocoVID conversion).
        name (str): The video's ``name``, or the folder of its ``file_names``.
        num_frames (int, optional): Frames of the predicted video; must be the GT's.
        size (tuple[int, int], optional): (height, width) of the predicted masks. A GT one
            pixel larger in a dimension (an odd size the demo cropped to an even one) is
            cropped the same way; any other difference is refused.

    Raises:
        AnnotationFileError: The file is missing, unreadable or not official YouTube-VIS.
        GroundTruthError: The video is not in the file, or its frame count or size differ.
    """
    if not osp.isfile(ann_file):
        raise AnnotationFileError(ann_file, [
            'file: does not exist. Fix: give the official YouTube-VIS annotation file of the '
            "video (e.g. the generator's annotations/instances.json)"])
    data = load_annotation_json(ann_file)
    if detect_annotation_format(data) != 'ytvis':
        raise AnnotationFileError(ann_file, [
            'file: is not an official YouTube-VIS file (no videos with file_names). Fix: give '
            "the official annotations (e.g. the generator's annotations/instances.json), not "
            'a CocoVID or COCO file'])
    videos = {video_name(video): video for video in data['videos']}
    if name not in videos:
        names = sorted(str(n) for n in videos)
        more = f' and {len(names) - MAX_NAMES_SHOWN} more' if len(names) > MAX_NAMES_SHOWN else ''
        raise GroundTruthError(
            f'video {name!r} is not in {ann_file}, which has {", ".join(names[:MAX_NAMES_SHOWN])}'
            f'{more}. Fix: name one of them (the folder of its frames)')
    video = videos[name]
    length = len(video['file_names'])
    if num_frames is not None and num_frames != length:
        raise GroundTruthError(f'video {name!r} of {ann_file} has {length} frames, the predicted '
                               f'video {num_frames}. Fix: predict the frames that file annotates '
                               '(its JPEGImages folder of the video), or name the right video')
    gt_size = (video['height'], video['width'])
    size = tuple(size or gt_size)
    if any(not 0 <= g - s <= 1 for g, s in zip(gt_size, size)):
        raise GroundTruthError(f'video {name!r} of {ann_file} is {gt_size[1]}x{gt_size[0]}, the '
                               f'predicted video {size[1]}x{size[0]}. Fix: predict the frames '
                               'at their own size, or name the right video')
    annotations = [ann for ann in data['annotations'] if ann['video_id'] == video['id']]
    tracks = [[_crop(to_rle(s, *gt_size), size) for s in ann['segmentations']]
              for ann in annotations]
    return GTVideo(name, video, annotations, data.get('categories', []), tracks)


def _crop(rle: Optional[dict], size: Tuple[int, int]) -> Optional[dict]:
    """``rle`` cut to (height, width) ``size`` from the top left (None stays None)."""
    if rle is None:
        return None
    rle = as_rle(rle)
    if tuple(rle['size']) == tuple(size):
        return rle
    return encode_rle(mask_util.decode(rle)[:size[0], :size[1]])


def identity_summary(gt: GTVideo, records: Sequence[dict],
                     iou_thr: float = 0.5) -> Dict[str, float]:
    """``IDSW``, ``IDF1``, ``IDTP``, ``IDFP``, ``IDFN`` of a predicted video's records
    (one per track) against ``gt``, and ``gt_video`` (its name)."""
    num_frames = len(gt.video['file_names'])
    lengths = sorted({len(r['segmentations']) for r in records} - {num_frames})
    if lengths:
        raise GroundTruthError(f'video {gt.name!r} has {num_frames} frames, the predicted tracks '
                               f'{lengths[0]}. Fix: predict the frames the ground truth '
                               'annotates, or name the right video')
    metrics = video_identity_metrics(gt.tracks, [r['segmentations'] for r in records], iou_thr)
    return dict(metrics, gt_video=gt.name)


# ------------------------------------------------------------------ per object
def match_objects(gt_tracks: Sequence[Sequence[Optional[dict]]], pred_frames: Sequence,
                  iou_thr: float = 0.5) -> List[ObjectMatch]:
    """Per GT object, its best mask IoU in each frame and the track id of its detection.

    Args:
        gt_tracks (Sequence): Per GT object, per frame an RLE or None (absent).
        pred_frames (Sequence): Per frame an :class:`EncodedFrame` (or what
            :func:`encode_frame` takes): the predicted masks, scores and track ids.
        iou_thr (float): Mask IoU at which a prediction can be the object. Default 0.5.

    Returns:
        list[ObjectMatch]: One per GT object present in at least one frame, in order.
    """
    frames = [f if isinstance(f, EncodedFrame) else encode_frame(f) for f in pred_frames]
    if any(len(track) != len(frames) for track in gt_tracks):
        raise ValueError(f'GT tracks have {sorted({len(t) for t in gt_tracks})} frames, the '
                         f'prediction {len(frames)}; give both for the same video')
    ious = [[] for _ in gt_tracks]
    ids = [[] for _ in gt_tracks]
    for t, frame in enumerate(frames):  # one IoU matrix a frame: (present objects, masks)
        present = [k for k, track in enumerate(gt_tracks) if track[t] is not None]
        iou = rle_ious([as_rle(gt_tracks[k][t]) for k in present],
                       [as_rle(r) for r in frame.rles])
        scores = np.asarray(frame.scores)
        for k, row in zip(present, iou):
            ious[k].append(float(row.max()) if row.size else 0.0)
            covering = np.flatnonzero(row >= iou_thr)
            if len(covering):
                ids[k].append(int(frame.instances_id[covering[np.argmax(scores[covering])]]))
    return [ObjectMatch(i, d) for i, d in zip(ious, ids) if i]


def video_identity_row(gt: GTVideo, pred_frames: Sequence,
                       cat_ids: Optional[Sequence[int]] = None,
                       iou_thr: float = 0.5) -> Dict[str, float]:
    """The identity numbers of one predicted video against its ground truth.

    Args:
        gt (GTVideo): The video's ground truth (:func:`load_gt_video`).
        pred_frames (Sequence): Per frame an :class:`EncodedFrame` or what
            :func:`encode_frame` takes (e.g. the model's ``DetDataSample`` s).
        cat_ids (Sequence[int], optional): Category id of each label; default label + 1.
        iou_thr (float): Mask IoU at which a prediction can be an object. Default 0.5.

    Returns:
        dict: ``AP`` (YouTube-VIS video AP, :func:`~mmsgnet.evaluation.evaluate_ytvis`),
        ``mask_iou`` (mean over objects and frames of the best predicted mask's IoU),
        ``one_id_objects`` of ``num_objects`` (:attr:`ObjectMatch.one_id_in_all_frames`),
        ``num_tracks``, ``IDSW`` and ``IDF1``.
    """
    frames = [f if isinstance(f, EncodedFrame) else encode_frame(f) for f in pred_frames]
    records = video_to_ytvis_results(frames, gt.video['id'], cat_ids)
    objects = match_objects(gt.tracks, frames, iou_thr)
    ious = [iou for obj in objects for iou in obj.ious]
    identity = identity_summary(gt, records, iou_thr)
    return dict(AP=float(evaluate_ytvis(gt.as_ytvis(), records)['AP']),
                mask_iou=float(np.mean(ious)) if ious else 0.0,
                one_id_objects=sum(obj.one_id_in_all_frames for obj in objects),
                num_objects=len(objects), num_tracks=len(records), IDSW=int(identity['IDSW']),
                IDF1=float(identity['IDF1']))
