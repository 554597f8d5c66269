"""SG-Net's centerness tracker (Liu et al., CVPR 2021, Sec. 3.3).

Each detection i of frame t has a centerness location ``o_t^i`` and a predicted movement
``D_t^i = o_t^i - o_{t-1}^i``. Detections, by descending score, are greedily matched to the
nearest unmatched track whose position at ``t - 1`` lies within ``r = mean(w, h)`` of the
detection's estimated previous position ``o_t^i - D_t^i``; otherwise they start a new id.
A track not matched in a frame keeps moving with its last movement; tracks unseen for
``num_frames_retain`` frames are dropped.

What the paper leaves open is a named option (defaults: the paper's behaviour):

- ``duplicate_iou_thr``: a detection whose mask IoU with a higher-scored detection of the
  frame reaches the threshold is a duplicate of that object (class-wise NMS leaves one copy
  per class): it takes no part in the association and is left out of the output. Otherwise
  the copy starts its own track and, at a crossing, takes the object's detection.
- ``motion``: the movement that carries a detection back to ``t - 1``: the predicted
  ``D_t`` ('detection', the paper), the track's own observed per-frame displacement
  ``(o_last - o_prev) / gap`` ('track'), or their mean ('mean'). A movement predicted from one
  frame cannot tell which way an object goes; with ``D ~ 0`` two objects crossing at similar
  speeds swap ids, with the track's displacement they do not.
- The same movement carries an unmatched (occluded) track forward frame by frame.
- ``new_track_velocity``: a track seen once has no displacement of its own yet; with
  ``motion='track'`` or ``'mean'`` its first movement is its detection's ``D``
  ('detection') or zero ('zero': standing still until its second detection). ``D`` is
  predicted from one frame: a trained small model gives an object standing by the image border
  the movement of the objects that leave through it (50 px a frame), and then that object
  misses its track in every frame and takes a new id each time.
- ``match_order``: the paper's matching is greedy without saying in which order: detections
  by descending score, each taking its nearest free track ('score'), or all pairs within the
  radius by ascending distance ('distance'). By score, an object coming out from behind
  another, detected with the higher score, can take the track of the one that hid it.
- ``merge_size_thr``: how a matched track's position is updated. The paper moves it to the
  detection's ``o_t``. Where two objects overlap, an undertrained model can detect them as
  one box over both (``merged_detections``: it contains the predicted centres of two or more
  tracks and is larger than any of them). Its centre lies between the objects: remembered,
  it pulls the track and its movement towards the other object just before they part, and
  taken first (it often outscores the hidden object's own detection), it takes the nearest
  track from that detection. With the option, such a detection is matched after the other
  detections of the frame, and the track it takes keeps moving by its own movement (its
  position, size and movement are not replaced by the merge).

A track remembers its last ``velocity_window`` entries (:class:`BoundedMemoMixin`), so
memory does not grow with the video's length.
"""
from typing import List, Optional, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.trackers import BaseTracker
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from .bounded_memo import BoundedMemoMixin
from .duplicates import duplicate_mask, mask_centroids, merged_detections

CENTER_MODES = ('centerness', 'box', 'mask')
MOTIONS = ('detection', 'track', 'mean')
NEW_TRACK_VELOCITIES = ('detection', 'zero')
MATCH_ORDERS = ('score', 'distance')


@MODELS.register_module()
class CenternessTracker(BoundedMemoMixin, BaseTracker):
    """Greedy nearest-centre matching with predicted centerness movements.

    Args:
        num_frames_retain (int): Frames a track survives without a match. Default 10.
        center_mode (str): 'centerness' (default): ``o`` is the location of the point that
            produced the detection; 'box': the box centre; 'mask': the centroid of the
            detection's mask (the box centre where it is empty or there are no masks).
        match_label (bool): Only match a detection to a track of the same label.
        radius_scale (float): The match radius is ``radius_scale * mean(w, h)``. Default 1.
        use_movement (bool): Use the predicted movement (False: match ``o_t`` itself, an
            ablation). Default True.
        init_score_thr (float): An unmatched detection starts a track only if its score is
            at least this; weaker ones still get a fresh id in the output but are not
            remembered, so they cannot take over a real object's track in later frames.
            Default 0.0 (every unmatched detection starts a track, as in the paper).
        duplicate_iou_thr (float, optional): Detections whose mask IoU (box IoU without
            masks) with a higher-scored detection of the frame is at least this are dropped
            before the association and from the output (a cross-class NMS). A duplicate kept
            in the output would be a one-frame track each frame (a false positive for AP and
            IDF1); given the object's id, two masks would share one id in a frame. Default
            None (off, as in the paper).
        motion (str): The movement ``m`` in the matching distance
            ``|o_t - m - p_{t-1}|``: 'detection' (``D_t``, the paper), 'track' (the track's
            observed per-frame displacement; while it has one detection, see
            ``new_track_velocity``), 'mean' (their mean). It also extrapolates unmatched
            tracks. Default 'detection'.
        velocity_window (int): The track's observed displacement is measured over its last
            ``velocity_window`` detections (1: the last two; more smooths the jumps of a
            partly occluded object's visible centre). Default 1.
        merge_size_thr (float, optional): A detection whose box contains the predicted
            centres of two or more tracks and whose area is at least this many times the
            largest of their box areas is a merge: matched last, and its track is carried by
            its own movement instead of moved to it (see above). Default None (off: every
            detection moves its track, as in the paper).
        new_track_velocity (str): The observed displacement of a track seen once:
            'detection' (its ``D``, default) or 'zero' (see above). Only used by ``motion``
            'track' and 'mean'.
        match_order (str): 'score' (default) or 'distance' (see above).

    Expected fields of ``data_sample.pred_instances``: ``bboxes`` (N, 4), ``scores``,
    ``labels``, ``points`` (N, 2) centerness locations, ``movements`` (N, 2) ``D_t``, all in
    the same (original image) pixels; ``data_sample.frame_id``.
    """

    def __init__(self,
                 num_frames_retain: int = 10,
                 center_mode: str = 'centerness',
                 match_label: bool = False,
                 radius_scale: float = 1.0,
                 use_movement: bool = True,
                 init_score_thr: float = 0.0,
                 duplicate_iou_thr: Optional[float] = None,
                 motion: str = 'detection',
                 velocity_window: int = 1,
                 merge_size_thr: Optional[float] = None,
                 new_track_velocity: str = 'detection',
                 match_order: str = 'score',
                 **kwargs) -> None:
        if motion not in MOTIONS:
            raise ValueError(f'motion must be one of {MOTIONS}, got {motion!r}')
        if new_track_velocity not in NEW_TRACK_VELOCITIES:
            raise ValueError(f'new_track_velocity must be one of {NEW_TRACK_VELOCITIES}, got '
                             f'{new_track_velocity!r}')
        if match_order not in MATCH_ORDERS:
            raise ValueError(f'match_order must be one of {MATCH_ORDERS}, got {match_order!r}')
        if velocity_window < 1:
            raise ValueError(f'velocity_window must be >= 1, got {velocity_window}')
        if duplicate_iou_thr is not None and not 0 < duplicate_iou_thr <= 1:
            raise ValueError('duplicate_iou_thr must be in (0, 1] or None (off), got '
                             f'{duplicate_iou_thr}')
        if merge_size_thr is not None and merge_size_thr < 1:
            raise ValueError(f'merge_size_thr must be >= 1 or None (off), got {merge_size_thr}')
        if center_mode not in CENTER_MODES:
            raise ValueError(f'center_mode must be one of {CENTER_MODES}, got {center_mode!r}')
        if num_frames_retain < 1:
            raise ValueError(f'num_frames_retain must be >= 1, got {num_frames_retain}')
        super().__init__(num_frames_retain=num_frames_retain, **kwargs)
        self.center_mode = center_mode
        self.match_label = match_label
        self.radius_scale = radius_scale
        self.use_movement = use_movement
        self.init_score_thr = init_score_thr
        self.duplicate_iou_thr = duplicate_iou_thr
        self.motion = motion
        self.velocity_window = velocity_window
        self.merge_size_thr = merge_size_thr
        self.new_track_velocity = new_track_velocity
        self.match_order = match_order
        self.memo_len = velocity_window  # what velocities() reads

    def centers(self, instances: InstanceData) -> Tensor:
        """The tracked position ``o`` of each detection, by ``center_mode``."""
        if self.center_mode == 'centerness':
            return instances.points
        box_centers = (instances.bboxes[:, :2] + instances.bboxes[:, 2:]) / 2
        if self.center_mode == 'box' or 'masks' not in instances:
            return box_centers
        return mask_centroids(instances.masks, box_centers)

    def _track_motion(self, track) -> Tensor:
        """A track's per-frame movement (the ``motion`` option) from its last detection."""
        predicted, observed = track['movements'][-1][0], track['velocities'][-1][0]
        if self.motion == 'detection':
            return predicted
        if self.motion == 'track':
            return observed
        return (predicted + observed) / 2

    def _predicted_center(self, track, frame_id: int) -> Tensor:
        """A track's position at ``frame_id``: its last one moved by its movement."""
        gap = frame_id - int(track['frame_ids'][-1])
        return track['centers'][-1][0] + gap * self._track_motion(track)

    def _track_positions(self, frame_id: int):
        """Ids, positions at ``frame_id - 1`` (extrapolated by the track's movement),
        observed movements and labels of the live tracks."""
        ids = self.ids
        if not ids:
            return [], None, None, None
        positions, velocities, labels = [], [], []
        for track_id in ids:
            track = self.tracks[track_id]
            positions.append(self._predicted_center(track, frame_id - 1))
            velocities.append(track['velocities'][-1][0])
            labels.append(track['labels'][-1][0])
        return ids, torch.stack(positions), torch.stack(velocities), torch.stack(labels)

    def predicted_boxes(self, frame_id: int) -> Tensor:
        """(T, 4) the live tracks' boxes at ``frame_id`` (order of ``self.ids``): the last
        position moved by the track's movement, the last size."""
        boxes = []
        for track_id in self.ids:
            track = self.tracks[track_id]
            centre = self._predicted_center(track, frame_id)
            half = track['sizes'][-1][0] / 2
            boxes.append(torch.cat([centre - half, centre + half]))
        return torch.stack(boxes) if boxes else torch.zeros(0, 4)

    def match(self, centers: Tensor, movements: Tensor, bboxes: Tensor, scores: Tensor,
              labels: Tensor, frame_id: int,
              merged: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Greedy matching (``merged`` detections last); returns the id of every detection
        (new ids included) and which detections are to be remembered (matched ones and new
        tracks)."""
        centers, movements = centers.detach().cpu().float(), movements.detach().cpu().float()
        bboxes, scores, labels = bboxes.detach().cpu(), scores.detach().cpu(), labels.cpu()
        ids = torch.full((len(centers), ), -1, dtype=torch.long)
        track_ids, track_pos, track_vel, track_labels = self._track_positions(frame_id)
        if track_ids:
            radius = self.radius_scale * ((bboxes[:, 2] - bboxes[:, 0]) +
                                          (bboxes[:, 3] - bboxes[:, 1])) / 2
            if not self.use_movement:
                previous = centers[:, None, :]
            elif self.motion == 'detection':
                previous = (centers - movements)[:, None, :]
            elif self.motion == 'track':
                previous = centers[:, None, :] - track_vel[None].float()
            else:
                previous = centers[:, None, :] - (movements[:, None, :] +
                                                  track_vel[None].float()) / 2
            dist = (previous - track_pos[None].float()).norm(dim=-1)  # (N, T)
            if self.match_label:
                dist[labels[:, None] != track_labels[None, :]] = float('inf')
            taken = torch.zeros(len(track_ids), dtype=torch.bool)
            order = torch.argsort(scores, descending=True).tolist()
            groups = [order] if merged is None else [[i for i in order if not merged[i]],
                                                     [i for i in order if merged[i]]]
            for group in groups:
                for i, j in self._pairs(dist, radius, group, taken):
                    if ids[i] < 0 and not taken[j]:
                        ids[i] = track_ids[j]
                        taken[j] = True
        new = ids < 0
        keep = ~new | (scores >= self.init_score_thr)
        ids[new] = torch.arange(self.num_tracks, self.num_tracks + int(new.sum()))
        self.num_tracks += int(new.sum())
        return ids, keep

    def _pairs(self, dist: Tensor, radius: Tensor, group: List[int], taken: Tensor):
        """The (detection, track) pairs within the radius to try, in ``match_order``:
        each detection of ``group`` (by descending score) with its nearest track not
        ``taken`` ('score'), or all pairs by ascending distance ('distance'). Lazy: the
        caller marks a track taken before the next pair is drawn."""
        if self.match_order == 'distance':
            pairs = [(float(dist[i, j]), rank, i, j) for rank, i in enumerate(group)
                     for j in range(dist.shape[1]) if dist[i, j] <= radius[i]]
            yield from ((i, j) for _, _, i, j in sorted(pairs))  # ties: the higher score
            return
        for i in group:
            d = dist[i].masked_fill(taken, float('inf'))
            j = int(torch.argmin(d))
            if d[j] <= radius[i]:
                yield i, j

    def velocities(self, ids: Tensor, centers: Tensor, movements: Tensor,
                   frame_id: int) -> Tensor:
        """Observed per-frame displacement of each detection's track; for a new one ``D`` or
        zero (``new_track_velocity``)."""
        out = movements.clone() if self.new_track_velocity == 'detection' else \
            torch.zeros_like(movements)
        for k, track_id in enumerate(ids.tolist()):
            track = self.tracks.get(track_id)
            if track is not None:
                first = max(len(track['centers']) - self.velocity_window, 0)
                gap = max(frame_id - int(track['frame_ids'][first]), 1)
                out[k] = (centers[k] - track['centers'][first][0]) / gap
        return out

    def carry_merged_tracks(self, memory: dict, merged: Tensor, frame_id: int) -> None:
        """In place: a track matched by a merged detection remembers its own predicted
        position and its last size, movement and displacement instead of the merge's."""
        for k in torch.where(merged)[0].tolist():
            track = self.tracks.get(int(memory['ids'][k]))
            if track is None:  # a merge that starts a track is all there is of it
                continue
            memory['centers'][k] = self._predicted_center(track, frame_id)
            for key in ('sizes', 'movements', 'velocities'):
                memory[key][k] = track[key][-1][0]

    def track(self, data_sample: DetDataSample, **kwargs) -> InstanceData:
        """Assign ids to the frame's detections and update the memo.

        Returns:
            InstanceData: the detections with ``instances_id`` (long).
        """
        instances = data_sample.pred_instances
        frame_id = int(data_sample.metainfo.get('frame_id', -1))
        if frame_id == 0:
            self.reset()
        instances = instances[~duplicate_mask(instances, self.duplicate_iou_thr).to(
            instances.scores.device)]
        centers = self.centers(instances).detach().cpu().float()
        movements = instances.movements.detach().cpu().float() if 'movements' in instances \
            else torch.zeros_like(centers)
        bboxes = instances.bboxes.detach().cpu().float()
        merged = torch.zeros(len(bboxes), dtype=torch.bool)
        if self.merge_size_thr is not None:
            merged = merged_detections(bboxes, self.predicted_boxes(frame_id),
                                       self.merge_size_thr)
        ids, keep = self.match(centers, movements, bboxes, instances.scores, instances.labels,
                               frame_id, merged if merged.any() else None)
        if keep.any():
            memory = dict(ids=ids[keep], centers=centers[keep], movements=movements[keep],
                          sizes=(bboxes[:, 2:] - bboxes[:, :2])[keep])
            memory['velocities'] = self.velocities(memory['ids'], memory['centers'],
                                                   memory['movements'], frame_id)
            self.carry_merged_tracks(memory, merged[keep], frame_id)
            self.update(**memory, labels=instances.labels.cpu()[keep], frame_ids=frame_id)
        else:
            self.pop_invalid_tracks(frame_id)
        result = instances.clone()
        result.instances_id = ids.to(instances.bboxes.device)
        return result

    def pop_invalid_tracks(self, frame_id: int) -> None:
        """Drop tracks unseen for ``num_frames_retain`` frames."""
        stale: List[int] = [
            k for k, v in self.tracks.items()
            if frame_id - int(v['frame_ids'][-1]) > self.num_frames_retain
        ]
        for k in stale:
            self.tracks.pop(k)
