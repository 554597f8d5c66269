"""SipMask-VIS's association (Cao et al., ECCV 2020, Sec. 3.5): MaskTrack R-CNN's match score
with what mmdet's ``MaskTrackRCNNTracker`` leaves open made explicit.

The score of detection i against previous object j is MaskTrack R-CNN's (Yang et al., ICCV
2019, Eq. 2 with the authors' weights): ``log softmax(similarity)_ij + w_s ln score_i +
w_iou IoU(box_i, box_j) + w_label [label_i == label_j]``, and column 0 ("a new object").
Options (defaults: mmdet's behaviour):

- ``one_to_one``: mmdet lets every detection take its best column, so two detections can get
  the same id in a frame (mmdet's TODO) and one that loses a comparison is dropped. True:
  the pairs are taken greedily by descending match score, each detection and each previous
  object at most once; a detection whose best free column is "new" starts a track.
- ``unique_ids``: mmdet's (and the authors') argmax assignment with its TODO fixed: where
  several detections take the same previous object, the one with the highest match score
  keeps it and the others are dropped. mmdet drops a claimant that scores lower than an
  earlier one, but an earlier claimant that a later one beats keeps the id too, so two
  masks of a frame share an id. Unlike ``one_to_one``, a loser is not given its next-best
  column (often "new": a fresh track for a weak box over two objects).
- ``duplicate_iou_thr``: detections whose mask IoU with a higher-scored detection of the
  frame reaches it are dropped before the association (see ``duplicates.py``).
- ``iou_motion``: the IoU term compares the detection with the object's last box moved by
  the object's observed per-frame box-centre displacement (times the frames since it was
  seen), not with the last box itself; at a crossing the last box of the other object
  overlaps more than one's own.
- ``merge_size_thr``: where two objects overlap, an undertrained model can detect them as one
  box over both (``merged_detections``: it contains the moved box centres of two or more
  previous objects and is larger than any of them). Such a detection is assigned after the
  others (with ``one_to_one``), and the object it takes keeps its memory (its last box moved
  by its displacement, its embedding and displacement) instead of remembering the mixture,
  which would draw it to the other object when they part.

A track remembers its last entries only (:class:`BoundedMemoMixin`; mmdet's tracker keeps
every frame's box, embedding and mask of a track for as long as it lives).
"""
from typing import List, Optional

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.trackers import MaskTrackRCNNTracker
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from .bounded_memo import BoundedMemoMixin
from .duplicates import duplicate_mask, merged_detections


def _box_centers(boxes: Tensor) -> Tensor:
    return (boxes[:, :2] + boxes[:, 2:]) / 2


@MODELS.register_module()
class SipMaskVISTracker(BoundedMemoMixin, MaskTrackRCNNTracker):
    """``MaskTrackRCNNTracker`` with one-to-one assignment, duplicate suppression and motion.

    Args:
        match_weights (dict): ``det_score``, ``iou``, ``det_label`` weights of the score.
        one_to_one (bool): Greedy one-to-one assignment by match score. Default False.
        duplicate_iou_thr (float, optional): Drop detections whose mask IoU (box IoU without
            masks) with a higher-scored detection of the frame is at least this. A duplicate
            kept would start a track of its own (a false positive for AP and IDF1). Default
            None (off).
        iou_motion (bool): Move each object's last box by its observed per-frame displacement
            before the IoU term. Default False.
        merge_size_thr (float, optional): A detection that contains the moved box centres of
            two or more previous objects and is at least this many times larger (area) than
            the largest of them is a merge: assigned last (``one_to_one``), its object keeps
            its memory. Default None (off).
        unique_ids (bool): With the argmax assignment (``one_to_one=False``), a previous
            object claimed by several detections goes to the highest match score; the other
            claimants are dropped. Default False (mmdet: an earlier claimant keeps it too).
        num_frames_retain (int): Frames an unmatched object is kept. Default 10.
    """

    def __init__(self,
                 match_weights: dict = dict(det_score=1.0, iou=2.0, det_label=10.0),
                 one_to_one: bool = False,
                 duplicate_iou_thr: Optional[float] = None,
                 iou_motion: bool = False,
                 merge_size_thr: Optional[float] = None,
                 unique_ids: bool = False,
                 **kwargs) -> None:
        if duplicate_iou_thr is not None and not 0 < duplicate_iou_thr <= 1:
            raise ValueError('duplicate_iou_thr must be in (0, 1] or None (off), got '
                             f'{duplicate_iou_thr}')
        if merge_size_thr is not None and merge_size_thr < 1:
            raise ValueError(f'merge_size_thr must be >= 1 or None (off), got {merge_size_thr}')
        super().__init__(match_weights=match_weights, **kwargs)
        self.one_to_one = one_to_one
        self.duplicate_iou_thr = duplicate_iou_thr
        self.iou_motion = iou_motion
        self.merge_size_thr = merge_size_thr
        self.unique_ids = unique_ids

    def assign_ids(self, match_scores: Tensor, last: Optional[Tensor] = None):
        """Ids of the detections (-1: dropped) and their match scores; with ``one_to_one``
        the detections flagged in ``last`` (merges) choose after the others."""
        if not self.one_to_one:
            ids, best = super().assign_ids(match_scores)
            if self.unique_ids:  # each claimed object: its best claimant keeps it
                for j, prev_id in enumerate(self.ids):
                    claimants = torch.where(ids == prev_id)[0]
                    if len(claimants) > 1:
                        winner = claimants[match_scores[claimants, j + 1].argmax()]
                        ids[claimants[claimants != winner]] = -1
            return ids, best
        num_dets, num_cols = match_scores.shape
        ids = match_scores.new_full((num_dets, ), -1, dtype=torch.long)
        best = match_scores.new_full((num_dets, ), -1e6)
        scores = match_scores.detach().cpu().clone()
        prev_ids = self.ids
        order = torch.argsort(scores.flatten(), descending=True).tolist()
        if last is not None:
            order = ([f for f in order if not last[f // num_cols]] +
                     [f for f in order if last[f // num_cols]])
        det_done = torch.zeros(num_dets, dtype=torch.bool)
        col_done = torch.zeros(num_cols, dtype=torch.bool)
        new_dets: List[int] = []
        for flat in order:
            i, j = divmod(flat, num_cols)
            if det_done[i] or (j > 0 and col_done[j]):
                continue
            det_done[i] = True
            best[i] = scores[i, j]
            if j == 0:
                new_dets.append(i)
            else:
                col_done[j] = True
                ids[i] = prev_ids[j - 1]
        for i in sorted(new_dets):
            ids[i] = self.num_tracks
            self.num_tracks += 1
        return ids, best

    def previous_boxes(self, frame_id: int) -> Tensor:
        """The objects' last boxes, moved by their displacement if ``iou_motion``."""
        return self.moved_boxes(frame_id) if self.iou_motion else self.get('bboxes')

    def moved_boxes(self, frame_id: int) -> Tensor:
        """The objects' last boxes (order of ``self.ids``) moved by their observed per-frame
        displacement times the frames since they were seen."""
        moved = []
        for track_id, box in zip(self.ids, self.get('bboxes')):
            track = self.tracks[track_id]
            gap = frame_id - int(track['frame_ids'][-1])
            shift = track['velocities'][-1][0].to(box) * gap
            moved.append(box + shift.repeat(2))
        return torch.stack(moved)

    def keep_merged_memory(self, memory: dict, merged: Tensor, moved: Tensor) -> None:
        """In place: an object taken by a merged detection remembers its moved last box
        (``moved``, order of ``self.ids``), its embedding and displacement instead of the
        merge's."""
        rows = {track_id: j for j, track_id in enumerate(self.ids)}
        for k in torch.where(merged.cpu())[0].tolist():
            track_id = int(memory['ids'][k])
            if track_id not in rows:  # a merge that starts a track is all there is of it
                continue
            track = self.tracks[track_id]
            memory['bboxes'][k] = moved[rows[track_id]]
            memory['velocities'][k] = track['velocities'][-1][0]
            memory['roi_feats'][k] = track['roi_feats'][-1][0]

    def velocities(self, ids: Tensor, bboxes: Tensor, frame_id: int) -> Tensor:
        """Observed per-frame box-centre displacement of each detection's track (0: new)."""
        centers = _box_centers(bboxes.detach().cpu().float())
        out = torch.zeros_like(centers)
        for k, track_id in enumerate(ids.tolist()):
            track = self.tracks.get(track_id)
            if track is not None:
                gap = max(frame_id - int(track['frame_ids'][-1]), 1)
                out[k] = (centers[k] - _box_centers(track['bboxes'][-1]).cpu()[0]) / gap
        return out

    def track(self, model: torch.nn.Module, feats: List[Tensor], data_sample: DetDataSample,
              rescale: bool = True, **kwargs) -> InstanceData:
        """mmdet's ``MaskTrackRCNNTracker.track`` with the options above."""
        metainfo = data_sample.metainfo
        instances = data_sample.pred_instances
        instances = instances[~duplicate_mask(instances, self.duplicate_iou_thr).to(
            instances.scores.device)]
        bboxes, labels, scores = instances.bboxes, instances.labels, instances.scores
        frame_id = metainfo.get('frame_id', -1)
        if bboxes.shape[0] == 0:
            result = instances.clone()
            result.instances_id = torch.zeros_like(labels)
            return result
        net_bboxes = bboxes.clone()
        if rescale:
            net_bboxes = net_bboxes * net_bboxes.new_tensor(
                metainfo['scale_factor']).repeat((1, 2))
        roi_feats, _ = model.track_head.extract_roi_feats(feats, [net_bboxes])
        merged, moved = torch.zeros(len(bboxes), dtype=torch.bool), None
        if self.empty:
            ids = torch.arange(self.num_tracks, self.num_tracks + len(bboxes),
                               dtype=torch.long, device=bboxes.device)
            self.num_tracks += len(bboxes)
        else:
            if self.iou_motion or self.merge_size_thr is not None:
                moved = self.moved_boxes(frame_id)
            similarity_logits = model.track_head.predict(roi_feats, self.get('roi_feats'))
            match_scores = self.get_match_score(
                bboxes, labels, scores, moved if self.iou_motion else self.get('bboxes'),
                self.get('labels'), similarity_logits)
            if self.merge_size_thr is not None:
                merged = merged_detections(bboxes, moved, self.merge_size_thr)
            ids, _ = self.assign_ids(match_scores, last=merged if merged.any() else None)
            ids = ids.to(bboxes.device)
        valid = ids > -1
        ids, roi_feats = ids[valid], roi_feats[valid]
        instances = instances[valid]
        velocities = self.velocities(ids, instances.bboxes, frame_id)
        memory = dict(ids=ids, bboxes=instances.bboxes.clone(), roi_feats=roi_feats.clone(),
                      velocities=velocities.to(instances.bboxes.device))
        if merged.any():
            self.keep_merged_memory(memory, merged[valid.cpu()], moved)
        self.update(**memory, labels=instances.labels, scores=instances.scores,
                    masks=instances.masks, frame_ids=frame_id)
        result = InstanceData()
        result.bboxes, result.masks = instances.bboxes, instances.masks
        result.labels, result.scores = instances.labels, instances.scores
        result.instances_id = ids
        return result
