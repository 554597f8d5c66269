"""SG-Net's centerness tracker (Liu et al., CVPR 2021, Sec. 3.3).

Each detection i of frame t has a centerness location ``o_t^i`` and a predicted movement
``D_t^i = o_t^i - o_{t-1}^i``. Detections, by descending score, are greedily matched to the
nearest unmatched track whose position at ``t - 1`` lies within ``r = mean(w, h)`` of the
detection's estimated previous position ``o_t^i - D_t^i``; otherwise they start a new id.
A track not matched in a frame keeps moving with its last movement; tracks unseen for
``num_frames_retain`` frames are dropped.
"""
from typing import List, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.trackers import BaseTracker
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

CENTER_MODES = ('centerness', 'box')


@MODELS.register_module()
class CenternessTracker(BaseTracker):
    """Greedy nearest-centre matching with predicted centerness movements.

    Args:
        num_frames_retain (int): Frames a track survives without a match. Default 10.
        center_mode (str): 'centerness' (default): ``o`` is the location of the point that
            produced the detection; 'box': the box centre.
        match_label (bool): Only match a detection to a track of the same label.
        radius_scale (float): The match radius is ``radius_scale * mean(w, h)``. Default 1.
        use_movement (bool): Use the predicted movement (False: match ``o_t`` itself, an
            ablation). Default True.
        init_score_thr (float): An unmatched detection starts a track only if its score is
            at least this; weaker ones still get a fresh id in the output but are not
            remembered, so they cannot take over a real object's track in later frames.
            Default 0.0 (every unmatched detection starts a track, as in the paper).

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
                 **kwargs) -> None:
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

    def centers(self, instances: InstanceData) -> Tensor:
        """The tracked position ``o`` of each detection, by ``center_mode``."""
        if self.center_mode == 'box':
            return (instances.bboxes[:, :2] + instances.bboxes[:, 2:]) / 2
        return instances.points

    def _track_positions(self, frame_id: int):
        """Ids, positions at ``frame_id - 1`` (extrapolated by the last movement) and labels
        of the live tracks."""
        ids = self.ids
        if not ids:
            return [], None, None
        positions, labels = [], []
        for track_id in ids:
            track = self.tracks[track_id]
            gap = frame_id - 1 - int(track['frame_ids'][-1])
            positions.append(track['centers'][-1][0] + gap * track['movements'][-1][0])
            labels.append(track['labels'][-1][0])
        return ids, torch.stack(positions), torch.stack(labels)

    def match(self, centers: Tensor, movements: Tensor, bboxes: Tensor, scores: Tensor,
              labels: Tensor, frame_id: int) -> Tuple[Tensor, Tensor]:
        """Greedy matching; returns the id of every detection (new ids included) and which
        detections are to be remembered (matched ones and new tracks)."""
        ids = torch.full((len(centers), ), -1, dtype=torch.long)
        track_ids, track_pos, track_labels = self._track_positions(frame_id)
        if track_ids:
            previous = centers - movements if self.use_movement else centers
            radius = self.radius_scale * ((bboxes[:, 2] - bboxes[:, 0]) +
                                          (bboxes[:, 3] - bboxes[:, 1])) / 2
            dist = torch.cdist(previous.float(), track_pos.float())  # (N, T)
            if self.match_label:
                dist[labels[:, None] != track_labels[None, :]] = float('inf')
            taken = torch.zeros(len(track_ids), dtype=torch.bool)
            for i in torch.argsort(scores, descending=True).tolist():
                d = dist[i].masked_fill(taken.to(dist.device), float('inf'))
                j = int(torch.argmin(d)) if len(d) else -1
                if j >= 0 and d[j] <= radius[i]:
                    ids[i] = track_ids[j]
                    taken[j] = True
        new = ids < 0
        keep = ~new | (scores.cpu() >= self.init_score_thr)
        ids[new] = torch.arange(self.num_tracks, self.num_tracks + int(new.sum()))
        self.num_tracks += int(new.sum())
        return ids, keep

    def track(self, data_sample: DetDataSample, **kwargs) -> InstanceData:
        """Assign ids to the frame's detections and update the memo.

        Returns:
            InstanceData: the detections with ``instances_id`` (long).
        """
        instances = data_sample.pred_instances
        frame_id = int(data_sample.metainfo.get('frame_id', -1))
        if frame_id == 0:
            self.reset()
        centers = self.centers(instances)
        movements = instances.movements if 'movements' in instances else torch.zeros_like(
            centers)
        ids, keep = self.match(centers, movements, instances.bboxes, instances.scores,
                               instances.labels, frame_id)
        if keep.any():
            self.update(ids=ids[keep], centers=centers.detach().cpu()[keep],
                        movements=movements.detach().cpu()[keep],
                        labels=instances.labels.cpu()[keep], frame_ids=frame_id)
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
