"""YouTube-VIS video instance segmentation AP/AR on NumPy and ``pycocotools.mask`` only.

A re-implementation of the official YouTube-VIS evaluation, ``YTVOSeval`` in youtubevos/cocoapi
``PythonAPI/pycocotools/ytvoseval.py``: COCOeval (Lin et al., ECCV 2014) with a video in place
of an image and a track (one mask, or None, per frame) in place of an instance. It runs on any
NumPy (mmdet 3.3's port uses ``np.float``, gone since NumPy 1.24) and needs no dataset object:

- IoU of two tracks = sum over frames of the intersections / sum over frames of the unions
  (Yang et al., "Video Instance Segmentation", ICCV 2019, eq. 1); a frame where only one track is
  present adds that mask's area to the union.
- The area of a track is the mean of its per-frame areas over the frames it is present in
  (GT: the annotation's ``areas``; detections: the mask areas).
- Matching, accumulation and the 12 summary numbers are COCOeval's, per (video, category).

One deliberate difference: for a crowd GT (``iscrowd=1``) the union is the detection's area, as
in COCOeval's ``maskUtils.iou``; the official video code ignores ``iscrowd`` in the IoU (its files
have no crowd tracks). With single-frame videos the numbers equal COCOeval's ``segm`` ones.
"""
from collections import defaultdict
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_util

from mmsgnet.datasets.coco_format import segmentation_to_rle

IOU_THRS = np.linspace(0.5, 0.95, 10)
REC_THRS = np.linspace(0.0, 1.0, 101)
MAX_DETS = (1, 10, 100)
AREA_RANGES = {'all': (0, 1e5**2), 'small': (0, 128**2), 'medium': (128**2, 256**2),
               'large': (256**2, 1e5**2)}
# name, AP or AR, IoU threshold (None: mean over all), area range, index into max_dets
SUMMARY = (('AP', 'AP', None, 'all', 2), ('AP50', 'AP', 0.5, 'all', 2),
           ('AP75', 'AP', 0.75, 'all', 2), ('APs', 'AP', None, 'small', 2),
           ('APm', 'AP', None, 'medium', 2), ('APl', 'AP', None, 'large', 2),
           ('AR1', 'AR', None, 'all', 0), ('AR10', 'AR', None, 'all', 1),
           ('AR100', 'AR', None, 'all', 2), ('ARs', 'AR', None, 'small', 2),
           ('ARm', 'AR', None, 'medium', 2), ('ARl', 'AR', None, 'large', 2))
STAT_NAMES = tuple(row[0] for row in SUMMARY)


def to_rle(segm, height: int, width: int) -> Optional[dict]:
    """One frame's segmentation (polygons, uncompressed or compressed RLE; None or empty when
    the object is absent) -> compressed RLE, or None."""
    return segmentation_to_rle(segm, height, width) if segm else None


def mean_track_area(rles: Sequence[Optional[dict]],
                    areas: Optional[Sequence[Optional[float]]] = None) -> float:
    """Official ``avg_area`` of a track: the mean of its non-empty per-frame areas (0 if none).

    Args:
        rles (Sequence[dict | None]): Per-frame compressed RLE, None where absent.
        areas (Sequence[float | None], optional): Per-frame areas (the GT's ``areas``); default
            the mask areas of ``rles``.
    """
    if areas is None:
        areas = [float(mask_util.area(rle)) if rle else None for rle in rles]
    present = [area for area in areas if area]
    return float(np.mean(present)) if present else 0.0


def frame_intersections(dt_rles: List[dict], gt_rles: List[dict], dt_areas: np.ndarray,
                        gt_areas: np.ndarray) -> np.ndarray:
    """Pixel intersections (D, G) of the masks of one frame.

    pycocotools gives IoU = I / (a + b - I) for all pairs in C; solved for I this is
    I = IoU (a + b) / (1 + IoU), an integer recovered exactly by rounding.
    """
    ious = np.asarray(mask_util.iou(dt_rles, gt_rles, [0] * len(gt_rles)))
    if (ious < 0).any():
        sizes = sorted({tuple(rle['size']) for rle in dt_rles + gt_rles})
        raise ValueError(f'masks of one frame have different sizes {sizes} (height, width). '
                         'Fix: predict masks at the original frame size (ori_shape).')
    return np.rint(ious * (dt_areas[:, None] + gt_areas[None, :]) / (1 + ious))


def spatio_temporal_iou(dt_tracks: Sequence[Sequence[Optional[dict]]],
                        gt_tracks: Sequence[Sequence[Optional[dict]]],
                        iscrowd: Optional[Sequence[bool]] = None) -> np.ndarray:
    """Track IoUs (ICCV 2019 VIS paper eq. 1; ``computeIoU`` of ytvoseval.py).

    Args:
        dt_tracks (Sequence): D detected tracks, each one compressed RLE or None per frame.
        gt_tracks (Sequence): G GT tracks of the same video, same format.
        iscrowd (Sequence[bool], optional): (G,) crowd flags; a crowd GT's IoU divides by the
            detection's area instead of the union. Default all False.

    Returns:
        np.ndarray: (D, G) sum of intersections / sum of unions over frames (0 if both empty).
    """
    crowd = np.zeros(len(gt_tracks), bool) if iscrowd is None else np.asarray(iscrowd, bool)
    lengths = {len(track) for track in (*dt_tracks, *gt_tracks)}
    if len(lengths) > 1:
        raise ValueError(f'tracks of one video have different numbers of frames {sorted(lengths)}.'
                         ' Fix: give one segmentation (or None) per frame of the video.')
    inter = np.zeros((len(dt_tracks), len(gt_tracks)))
    dt_area, gt_area = np.zeros(len(dt_tracks)), np.zeros(len(gt_tracks))
    for t in range(lengths.pop() if lengths else 0):
        d_idx = [i for i, track in enumerate(dt_tracks) if track[t]]
        g_idx = [j for j, track in enumerate(gt_tracks) if track[t]]
        d_rles = [dt_tracks[i][t] for i in d_idx]
        g_rles = [gt_tracks[j][t] for j in g_idx]
        d_areas = mask_util.area(d_rles).astype(float) if d_idx else np.zeros(0)
        g_areas = mask_util.area(g_rles).astype(float) if g_idx else np.zeros(0)
        dt_area[d_idx] += d_areas
        gt_area[g_idx] += g_areas
        if d_idx and g_idx:
            inter[np.ix_(d_idx, g_idx)] += frame_intersections(d_rles, g_rles, d_areas, g_areas)
    union = dt_area[:, None] + gt_area[None, :] - inter
    union[:, crowd] = dt_area[:, None]
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_tracks(ious: np.ndarray, gt_ignore: np.ndarray, gt_crowd: np.ndarray,
                 dt_outside: np.ndarray, iou_thrs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """COCOeval's greedy matching (``evaluateImg``) of one (video, category, area range).

    At each IoU threshold, each detection in score order takes the free GT of highest
    IoU >= the threshold (on ties the later GT), preferring any regular GT to an ignored one;
    a crowd GT stays free.

    Args:
        ious (np.ndarray): (D, G) IoUs, detections sorted by descending score.
        gt_ignore (np.ndarray): (G,) bool, GT ignored (crowd or outside the area range).
        gt_crowd (np.ndarray): (G,) bool, crowd GT.
        dt_outside (np.ndarray): (D,) bool, detection area outside the area range.
        iou_thrs (np.ndarray): (T,) IoU thresholds.

    Returns:
        tuple[np.ndarray, np.ndarray]: (T, D) bool ``matched`` and ``ignored`` (matched to an
        ignored GT, or unmatched and outside the area range).
    """
    matched = np.zeros((len(iou_thrs), len(ious)), bool)
    ignored = np.tile(dt_outside, (len(iou_thrs), 1))
    for t, iou_thr in enumerate(iou_thrs):
        thr, taken = min(iou_thr, 1 - 1e-10), np.zeros(len(gt_ignore), bool)
        for d, row in enumerate(ious):
            free = (~taken | gt_crowd) & (row >= thr)
            for group in (free & ~gt_ignore, free & gt_ignore):
                if group.any():
                    candidates = np.flatnonzero(group)[::-1]
                    g = candidates[np.argmax(row[candidates])]
                    taken[g] = matched[t, d] = True
                    ignored[t, d] = gt_ignore[g]
                    break
    return matched, ignored


def precision_recall(matched: np.ndarray, ignored: np.ndarray, num_gt: int,
                     rec_thrs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Interpolated precision at the recall thresholds and the final recall (one
    (category, area range, max detections) cell of COCOeval's ``accumulate``).

    Args:
        matched (np.ndarray): (T, N) bool, detections of all videos by descending score.
        ignored (np.ndarray): (T, N) bool, detections that count neither as TP nor FP.
        num_gt (int): Number of non-ignored GT tracks (> 0).
        rec_thrs (np.ndarray): (R,) recall thresholds.

    Returns:
        tuple[np.ndarray, np.ndarray]: precision (T, R) and recall (T,).
    """
    tp = np.cumsum(matched & ~ignored, axis=1, dtype=float)
    fp = np.cumsum(~matched & ~ignored, axis=1, dtype=float)
    recall_curve = tp / num_gt
    # precision envelope: the best precision at this or any higher recall
    envelope = np.flip(np.maximum.accumulate(np.flip(tp / (tp + fp + np.spacing(1)), 1), 1), 1)
    precision = np.zeros((len(matched), len(rec_thrs)))
    for t, curve in enumerate(recall_curve):
        idx = np.searchsorted(curve, rec_thrs, side='left')
        reached = idx < curve.size
        precision[t, reached] = envelope[t, idx[reached]]
    recall = recall_curve[:, -1] if matched.shape[1] else np.zeros(len(matched))
    return precision, recall


class VideoMatches(NamedTuple):
    """Matching result of one (video, category, area range), detections by descending score."""
    scores: np.ndarray  # (D,)
    matched: np.ndarray  # (T, D) bool
    ignored: np.ndarray  # (T, D) bool
    num_gt: int  # GT tracks not ignored


def accumulate(cells: Dict[Tuple[int, int], List[VideoMatches]], num_cats: int,
               iou_thrs: np.ndarray, rec_thrs: np.ndarray,
               max_dets: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """COCOeval's ``accumulate``: pool the videos' detections of each (category, area range)
    by score, each video cut to its top ``max_det``.

    Args:
        cells (dict): (category index, area range index) -> the videos' ``VideoMatches``, in
            video id order (this order breaks score ties, as in COCOeval).
        num_cats (int): Number of categories K.
        iou_thrs, rec_thrs (np.ndarray): (T,) and (R,) thresholds.
        max_dets (Sequence[int]): (M,) limits of detections per video, ascending.

    Returns:
        tuple[np.ndarray, np.ndarray]: precision (T, R, K, A, M) and recall (T, K, A, M), -1
        where a category has no GT in the area range.
    """
    precision = -np.ones((len(iou_thrs), len(rec_thrs), num_cats, len(AREA_RANGES),
                          len(max_dets)))
    recall = -np.ones((len(iou_thrs), num_cats, len(AREA_RANGES), len(max_dets)))
    for (k, a), videos in cells.items():
        num_gt = sum(video.num_gt for video in videos)
        if num_gt == 0:
            continue
        for m, max_det in enumerate(max_dets):
            scores = np.concatenate([video.scores[:max_det] for video in videos])
            order = np.argsort(-scores, kind='mergesort')
            matched = np.concatenate([v.matched[:, :max_det] for v in videos], 1)[:, order]
            ignored = np.concatenate([v.ignored[:, :max_det] for v in videos], 1)[:, order]
            precision[:, :, k, a, m], recall[:, k, a, m] = precision_recall(
                matched, ignored, num_gt, rec_thrs)
    return precision, recall


def _video_lengths(gt: dict) -> Dict[int, Optional[int]]:
    """Frames per video: ``length``, else ``len(file_names)``, else the GT tracks' length."""
    if not gt.get('videos') or not gt.get('annotations'):
        missing = 'videos' if not gt.get('videos') else 'annotations'
        raise ValueError(f'the YouTube-VIS ground truth has no {missing}: nothing to evaluate '
                         'against. Fix: evaluate on a split with annotations, or only write the '
                         'results for the evaluation server (YTVISMetric(format_only=True, '
                         'outfile_prefix=...)).')
    lengths = {v['id']: v.get('length') or len(v.get('file_names') or []) or None
               for v in gt['videos']}
    for i, ann in enumerate(gt['annotations']):
        _check_track(f'GT annotation {i}', ann, lengths,
                     "list every video of the annotations in the ground truth's videos")
        lengths[ann['video_id']] = len(ann['segmentations'])
    return lengths


def _check_track(what: str, track: dict, lengths: Dict[int, Optional[int]], fix: str):
    """Raise if the track's video is unknown or its number of frames is not the video's."""
    if track['video_id'] not in lengths:
        raise ValueError(f'{what} refers to video_id={track["video_id"]}, which is not among '
                         f'the {len(lengths)} videos of the ground truth. Fix: {fix}.')
    length = lengths[track['video_id']]
    if length is not None and len(track['segmentations']) != length:
        raise ValueError(f'{what} (video_id={track["video_id"]}) has '
                         f'{len(track["segmentations"])} segmentations but the video has {length}'
                         ' frames. Fix: give one segmentation (None where absent) per frame.')


def _load_tracks(gt: dict, results: Sequence[dict]) -> Tuple[dict, dict]:
    """GT and detected tracks grouped by (video_id, category_id), masks as compressed RLE."""
    lengths = _video_lengths(gt)
    for i, res in enumerate(results):
        _check_track(f'result {i}', res, lengths, 'evaluate the results against the '
                     'annotations of the split they were predicted on')
    sizes = {v['id']: (v.get('height'), v.get('width')) for v in gt['videos']}
    gts, dts = defaultdict(list), defaultdict(list)
    for ann in gt['annotations']:
        rles = [to_rle(s, *sizes[ann['video_id']]) for s in ann['segmentations']]
        gts[ann['video_id'], ann['category_id']].append(dict(
            rles=rles, area=mean_track_area(rles, ann.get('areas')),
            crowd=bool(ann.get('iscrowd', 0))))
    for res in results:
        rles = [to_rle(s, *sizes[res['video_id']]) for s in res['segmentations']]
        dts[res['video_id'], res['category_id']].append(dict(
            rles=rles, area=mean_track_area(rles), score=float(res['score'])))
    return gts, dts


def evaluate_ytvis(gt: dict, results: Sequence[dict], iou_thrs: Sequence[float] = IOU_THRS,
                   rec_thrs: Sequence[float] = REC_THRS, max_dets: Sequence[int] = MAX_DETS,
                   area_ranges: Dict[str, Tuple[float, float]] = AREA_RANGES) -> Dict[str, float]:
    """YouTube-VIS AP and AR of results against ground truth (official ``YTVOSeval``).

    Args:
        gt (dict): Official YouTube-VIS annotations: ``videos`` (``id``, ``height``, ``width``,
            ``length`` or ``file_names``), ``annotations`` (``video_id``, ``category_id``,
            ``iscrowd``, ``segmentations`` one per frame (polygons/RLE or None), optional
            ``areas``) and ``categories``.
        results (Sequence[dict]): Records ``video_id``, ``category_id``, ``score``,
            ``segmentations`` (one RLE or None per frame).
        iou_thrs, rec_thrs (Sequence[float]): IoU and recall thresholds (COCO's).
        max_dets (Sequence[int]): Three limits of detections per video, as COCO's [1, 10, 100].
        area_ranges (dict): ``all``, ``small``, ``medium``, ``large`` -> [min, max] mean area.

    Returns:
        dict[str, float]: The 12 COCO summary numbers named as ``STAT_NAMES``; -1 where no GT.
    """
    iou_thrs, rec_thrs, max_dets = np.asarray(iou_thrs), np.asarray(rec_thrs), sorted(max_dets)
    if len(max_dets) != 3 or set(area_ranges) != set(AREA_RANGES):
        raise ValueError(f'got max_dets={max_dets} and area ranges {list(area_ranges)}; the '
                         'summary needs 3 max_dets and the ranges all, small, medium, large.')
    gts, dts = _load_tracks(gt, results)
    cat_ids = sorted({c['id'] for c in gt.get('categories') or []}
                     or {ann['category_id'] for ann in gt['annotations']})
    video_ids = sorted(v['id'] for v in gt['videos'])
    cells = defaultdict(list)  # (category index, area range index) -> VideoMatches per video
    for k, cat in enumerate(cat_ids):
        for vid in video_ids:
            g, d = gts.get((vid, cat), []), dts.get((vid, cat), [])
            if not g and not d:
                continue
            order = np.argsort([-det['score'] for det in d], kind='mergesort')[:max_dets[-1]]
            d = [d[i] for i in order]
            crowd = np.array([track['crowd'] for track in g], bool)
            ious = spatio_temporal_iou([t['rles'] for t in d], [t['rles'] for t in g], crowd)
            gt_areas, dt_areas = np.array([t['area'] for t in g]), np.array([t['area'] for t in d])
            for a, (low, high) in enumerate(area_ranges[name] for name in AREA_RANGES):
                gt_ignore = crowd | (gt_areas < low) | (gt_areas > high)
                matched, ignored = match_tracks(
                    ious, gt_ignore, crowd, (dt_areas < low) | (dt_areas > high), iou_thrs)
                cells[k, a].append(VideoMatches(np.array([t['score'] for t in d]), matched,
                                                ignored, int((~gt_ignore).sum())))
    precision, recall = accumulate(cells, len(cat_ids), iou_thrs, rec_thrs, max_dets)
    return summarize(precision, recall, iou_thrs)


def summarize(precision: np.ndarray, recall: np.ndarray,
              iou_thrs: np.ndarray = IOU_THRS) -> Dict[str, float]:
    """The 12 COCO summary numbers: means over the entries > -1 (-1 if none).

    Args:
        precision (np.ndarray): (T, R, K, A, M) with A ordered as ``AREA_RANGES``.
        recall (np.ndarray): (T, K, A, M).
        iou_thrs (np.ndarray): (T,) IoU thresholds.
    """
    areas = list(AREA_RANGES)
    stats = {}
    for name, kind, iou, area, m in SUMMARY:
        values = precision[..., areas.index(area), m] if kind == 'AP' else \
            recall[..., areas.index(area), m]
        if iou is not None:
            values = values[np.isclose(iou_thrs, iou)]
        valid = values[values > -1]
        stats[name] = float(valid.mean()) if valid.size else -1.0
    return stats


def format_summary(stats: Dict[str, float], iou_thrs: Sequence[float] = IOU_THRS,
                   max_dets: Sequence[int] = MAX_DETS) -> str:
    """The summary as COCOeval prints it, one line per number of ``STAT_NAMES``."""
    lines = []
    for name, kind, iou, area, m in SUMMARY:
        title = 'Average Precision  (AP)' if kind == 'AP' else 'Average Recall     (AR)'
        iou_str = f'{iou_thrs[0]:0.2f}:{iou_thrs[-1]:0.2f}' if iou is None else f'{iou:0.2f}'
        lines.append(f' {title} @[ IoU={iou_str:<9} | area={area:>6s} | '
                     f'maxDets={sorted(max_dets)[m]:>3d} ] = {stats[name]:0.3f}')
    return '\n'.join(lines)
