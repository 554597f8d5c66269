"""Identity metrics of a tracked video: CLEAR-MOT ID switches and IDF1, on masks.

A GT object and a prediction can correspond in a frame when their mask IoU is at least
``iou_thr`` (0.5).

- ID switches (Bernardin & Stiefelhagen 2008, CLEAR MOT): frame by frame, the previous
  frame's correspondences are kept where they still hold, the remaining pairs are matched
  by the Hungarian algorithm on IoU; a GT object matched to a different predicted id than at
  its last match counts one switch.
- IDF1 (Ristani et al., ECCV 2016 workshops): one global bipartite matching of GT
  trajectories to predicted trajectories maximising the number of frames where matched pairs
  correspond (IDTP); ``IDF1 = 2 IDTP / (#GT detections + #predicted detections)``, with
  ``IDFN = #GT - IDTP`` and ``IDFP = #pred - IDTP``.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import pycocotools.mask as mask_util
from scipy.optimize import linear_sum_assignment


class IdentityFrame:
    """One frame: ids of the GT objects and predictions present and their (G, P) IoUs."""

    def __init__(self, gt_ids: Sequence[int], pred_ids: Sequence[int], ious: np.ndarray):
        self.gt_ids, self.pred_ids = list(gt_ids), list(pred_ids)
        self.ious = np.asarray(ious, dtype=np.float64).reshape(len(self.gt_ids),
                                                               len(self.pred_ids))


def id_switches(frames: Sequence[IdentityFrame], iou_thr: float = 0.5) -> int:
    """CLEAR-MOT ID switches of a video."""
    last: Dict[int, int] = {}  # GT id -> predicted id at its last match
    previous: Dict[int, int] = {}  # correspondences of the previous frame
    switches = 0
    for frame in frames:
        valid = frame.ious >= iou_thr
        matches: Dict[int, int] = {}
        gt_left, pred_left = set(range(len(frame.gt_ids))), set(range(len(frame.pred_ids)))
        for g, gt_id in enumerate(frame.gt_ids):
            pred_id = previous.get(gt_id)
            if pred_id in frame.pred_ids:
                p = frame.pred_ids.index(pred_id)
                if valid[g, p] and p in pred_left:
                    matches[gt_id] = pred_id
                    gt_left.discard(g)
                    pred_left.discard(p)
        rows, cols = sorted(gt_left), sorted(pred_left)
        if rows and cols:
            sub = np.where(valid[np.ix_(rows, cols)], frame.ious[np.ix_(rows, cols)], 0.0)
            for r, c in zip(*linear_sum_assignment(-sub)):
                if valid[rows[r], cols[c]]:
                    matches[frame.gt_ids[rows[r]]] = frame.pred_ids[cols[c]]
        for gt_id, pred_id in matches.items():
            if gt_id in last and last[gt_id] != pred_id:
                switches += 1
            last[gt_id] = pred_id
        previous = matches
    return switches


def idf1(frames: Sequence[IdentityFrame], iou_thr: float = 0.5) -> Dict[str, float]:
    """IDF1, IDTP, IDFP, IDFN of a video (IDF1 is 1.0 for a video without GT or predictions)."""
    gt_ids = sorted({i for f in frames for i in f.gt_ids})
    pred_ids = sorted({i for f in frames for i in f.pred_ids})
    num_gt = sum(len(f.gt_ids) for f in frames)
    num_pred = sum(len(f.pred_ids) for f in frames)
    overlap = np.zeros((len(gt_ids), len(pred_ids)))
    g_index = {k: i for i, k in enumerate(gt_ids)}
    p_index = {k: i for i, k in enumerate(pred_ids)}
    for frame in frames:
        for g, p in zip(*np.nonzero(frame.ious >= iou_thr)):
            overlap[g_index[frame.gt_ids[g]], p_index[frame.pred_ids[p]]] += 1
    idtp = 0.0
    if overlap.size:
        rows, cols = linear_sum_assignment(-overlap)
        idtp = float(overlap[rows, cols].sum())
    total = num_gt + num_pred
    return dict(IDF1=2 * idtp / total if total else 1.0, IDTP=idtp, IDFP=num_pred - idtp,
                IDFN=num_gt - idtp)


def rle_ious(gt: List[dict], pred: List[dict]) -> np.ndarray:
    """(G, P) mask IoUs of GT and predicted RLEs (as :func:`as_rle` gives them)."""
    if not gt or not pred:
        return np.zeros((len(gt), len(pred)))
    return np.asarray(mask_util.iou(pred, gt, [0] * len(gt))).T.reshape(len(gt), len(pred))


def video_identity_frames(gt_tracks: Sequence[Sequence[Optional[dict]]],
                          pred_tracks: Sequence[Sequence[Optional[dict]]]
                          ) -> List[IdentityFrame]:
    """Per-frame :class:`IdentityFrame` s of a video from per-track, per-frame RLE lists
    (``segmentations`` of YouTube-VIS GT / results records; None where absent). A track's
    id is its index."""
    num_frames = max([len(t) for t in list(gt_tracks) + list(pred_tracks)] or [0])
    frames = []
    for t in range(num_frames):
        gi = [i for i, s in enumerate(gt_tracks) if t < len(s) and s[t] is not None]
        pi = [i for i, s in enumerate(pred_tracks) if t < len(s) and s[t] is not None]
        ious = rle_ious([as_rle(gt_tracks[i][t]) for i in gi],
                        [as_rle(pred_tracks[i][t]) for i in pi])
        frames.append(IdentityFrame(gi, pi, ious))
    return frames


def as_rle(rle: dict) -> dict:
    """A compressed RLE as ``pycocotools.mask`` takes it (``counts`` as bytes; JSON has str)."""
    counts = rle['counts']
    return dict(rle, counts=counts.encode() if isinstance(counts, str) else counts)


def video_identity_metrics(gt_tracks, pred_tracks, iou_thr: float = 0.5) -> Dict[str, float]:
    """``IDSW``, ``IDF1``, ``IDTP``, ``IDFP``, ``IDFN`` of one video (see
    :func:`video_identity_frames` for the inputs)."""
    frames = video_identity_frames(gt_tracks, pred_tracks)
    return dict(IDSW=id_switches(frames, iou_thr), **idf1(frames, iou_thr))
