"""The video trackers on scripted detections: objects crossing (equal speeds, one faster),
a duplicate detection of a tracked object in every frame, an object hidden for 1-3 frames.

Detections are what a one-stage model gives: the box and mask of each object's visible part
(objects are boxes painted back to front; one less than 20% visible is not detected), a
score, a label, the centerness location (the box centre on a stride-8 grid), the predicted
movement ``D`` and an embedding. ``D`` is 0: a movement predicted from a single frame cannot
tell which way an object goes (our small SG-Net's predictions are near 0 on the generated
videos). An object "keeps its id" when in every frame where it is visible, the highest-scored
detection covering it (mask IoU >= 0.5) carries the same id, different from other objects'.
"""
import os.path as osp
from collections import defaultdict

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

import mmsgnet  # noqa: F401
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmsgnet.evaluation.identity import IdentityFrame, id_switches, idf1
from mmsgnet.models.trackers.duplicates import mask_centroids
from mmsgnet.models.tracking_heads import SipMaskTrackHead

HEIGHT, WIDTH, SIZE, STRIDE = 128, 160, 24, 8


def straight(start, end, num_frames):
    """Centres on a straight line, at a constant speed."""
    return [tuple(np.asarray(start) + (np.asarray(end) - start) * t / (num_frames - 1))
            for t in range(num_frames)]


def scripted_video(paths, hidden=None, duplicate_of=None, embed_noise=0.0, similar=False,
                   seed=0, merged=None, movement_of=None, merged_mask='both'):
    """Per frame: the ``InstanceData`` of the detections and the GT (ids, visible masks).

    Args:
        paths (list): Per object (back to front), its centre per frame.
        hidden (dict): Object -> frames where it is hidden (not painted, not detected).
        duplicate_of (int): Add, every frame, a second detection of this object: another
            class, a lower score, its box and mask shifted by (3, 2) px.
        embed_noise (float): Std of the per-frame noise of the embeddings.
        similar (bool): Near-identical appearance: every object's embedding is one vector
            plus 5% of its own.
        merged (tuple): ``(back, front)``: in frames where both are visible and their boxes
            overlap, the front object is detected as one box and mask over both (score 0.95,
            the mean embedding) and the back object's visible part by a weaker detection
            (score 0.3), as an undertrained model does.
        merged_mask (str): The merge's mask: over both objects ('both') or the front one's
            alone ('front', the box still over both).
        movement_of (dict): Object -> the predicted movement ``D`` of its detections (0
            otherwise).
    """
    hidden = hidden or {}
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(len(paths), 16))
    if similar:
        base = rng.normal(size=16) + 0.05 * base
    base = 4 * base / np.linalg.norm(base, axis=1, keepdims=True)
    frames = []
    for t in range(len(paths[0])):
        painted = np.zeros((HEIGHT, WIDTH), dtype=np.int64) - 1
        for k, path in enumerate(paths):
            if t in hidden.get(k, ()):
                continue
            cx, cy = path[t]
            x1, y1 = int(round(cx - SIZE / 2)), int(round(cy - SIZE / 2))
            painted[max(y1, 0):max(y1 + SIZE, 0), max(x1, 0):max(x1 + SIZE, 0)] = k
        dets, gt_ids, gt_masks = [], [], []
        for k in range(len(paths)):
            mask = painted == k
            if mask.sum() < 0.2 * SIZE * SIZE:
                continue
            gt_ids.append(k)
            gt_masks.append(mask)
            copies = [(mask, 0.9 - 0.1 * k, k % 2)]
            if duplicate_of == k:
                copies.append((np.roll(mask, (2, 3), axis=(0, 1)), 0.5 - 0.1 * k, 1 - k % 2))
            for m, score, label in copies:
                ys, xs = np.nonzero(m)
                box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
                centre = np.array([box[0] + box[2], box[1] + box[3]]) / 2
                point = np.floor(centre / STRIDE) * STRIDE + STRIDE / 2
                embed = base[k] + embed_noise * rng.normal(size=16)
                dets.append((m, box, score, label, point, embed,
                             (movement_of or {}).get(k, (0.0, 0.0))))
        if merged is not None:
            dets = merge_detections(dets, gt_ids, *merged, mask_of=merged_mask)
        instances = InstanceData(
            masks=torch.from_numpy(np.stack([d[0] for d in dets])),
            bboxes=torch.tensor([d[1] for d in dets], dtype=torch.float32),
            scores=torch.tensor([d[2] for d in dets], dtype=torch.float32),
            labels=torch.tensor([d[3] for d in dets]),
            points=torch.tensor(np.stack([d[4] for d in dets]), dtype=torch.float32),
            movements=torch.tensor([d[6] for d in dets], dtype=torch.float32),
            embeds=torch.tensor(np.stack([d[5] for d in dets]), dtype=torch.float32))
        frames.append((instances, gt_ids, np.stack(gt_masks)))
    return frames


def merge_detections(dets, gt_ids, back, front, mask_of='both'):
    """``scripted_video(merged=(back, front), merged_mask=mask_of)`` of one frame's detections
    (one per object)."""
    if back not in gt_ids or front not in gt_ids:
        return dets
    b, f = dets[gt_ids.index(back)], dets[gt_ids.index(front)]
    if min(b[1][2], f[1][2]) <= max(b[1][0], f[1][0]) or \
            min(b[1][3], f[1][3]) <= max(b[1][1], f[1][1]):
        return dets  # apart
    mask = b[0] | f[0]
    ys, xs = np.nonzero(mask)
    box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    centre = np.array([box[0] + box[2], box[1] + box[3]]) / 2
    point = np.floor(centre / STRIDE) * STRIDE + STRIDE / 2
    dets = list(dets)
    mask = mask if mask_of == 'both' else f[0]
    dets[gt_ids.index(front)] = (mask, box, 0.95, f[3], point, (b[5] + f[5]) / 2, f[6])
    dets[gt_ids.index(back)] = (b[0], b[1], 0.3, b[3], b[4], b[5], b[6])
    return dets


class ScriptedTrackHead(SipMaskTrackHead):
    """SipMask-VIS's track head whose "features" are the frame's scripted detections: a
    box's embedding is that of the detection with this box."""

    def extract_roi_feats(self, feats, bboxes):
        same = (bboxes[0][:, None, :] == feats.bboxes[None]).all(-1)
        return feats.embeds[same.float().argmax(1)], [len(bboxes[0])]


class ScriptedModel(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.track_head = ScriptedTrackHead(in_channels=32, embed_channels=16)


def run_tracker(tracker_cfg, frames):
    """Track the scripted video with a tracker (or its config); per frame the tracked
    ``InstanceData``."""
    tracker = MODELS.build(tracker_cfg) if isinstance(tracker_cfg, dict) else tracker_cfg
    model = ScriptedModel()
    outputs = []
    for t, (instances, _, _) in enumerate(frames):
        sample = DetDataSample(metainfo=dict(frame_id=t, scale_factor=(1.0, 1.0)))
        sample.pred_instances = instances
        outputs.append(tracker.track(model=model, feats=instances, data_sample=sample,
                                     rescale=False))
    return outputs


def ids_of_objects(frames, outputs):
    """Object -> ids of the highest-scored detection covering it, per frame; and the
    identity frames of the video."""
    ids = defaultdict(list)
    identity = []
    for (_, gt_ids, gt_masks), out in zip(frames, outputs):
        gt = torch.from_numpy(gt_masks).flatten(1).float()
        pred = out.masks.flatten(1).float()
        inter = gt @ pred.t()
        ious = inter / (gt.sum(1)[:, None] + pred.sum(1)[None] - inter).clamp(min=1)
        identity.append(IdentityFrame(gt_ids, out.instances_id.tolist(), ious.numpy()))
        for g, k in enumerate(gt_ids):
            covering = torch.where(ious[g] >= 0.5)[0]
            if len(covering):
                best = covering[out.scores[covering].argmax()]
                ids[k].append(int(out.instances_id[best]))
            else:
                ids[k].append(None)
    return dict(ids), identity


def keeps_ids(ids):
    firsts = [v[0] for v in ids.values()]
    return (all(len(set(v)) == 1 and None not in v for v in ids.values())
            and len(set(firsts)) == len(firsts))


N = 12
CROSSING_EQUAL = [straight((16, 40), (144, 88), N), straight((144, 40), (16, 88), N),
                  [(140, 112)] * N]  # two on crossing lines at one speed, a third standing
CROSSING_FASTER = [straight((16, 64), (144, 64), N), straight((100, 20), (60, 108), N),
                   [(140, 112)] * N]
PASSING = [straight((20, 60), (140, 60), N), straight((140, 20), (20, 100), N)]
SCENARIOS = dict(
    crossing_equal_speeds=dict(paths=CROSSING_EQUAL),
    crossing_one_faster=dict(paths=CROSSING_FASTER),
    duplicate_every_frame=dict(paths=[straight((30, 60), (130, 60), N),
                                      straight((130, 30), (30, 30), N)], duplicate_of=0),
    duplicate_while_crossing=dict(paths=CROSSING_EQUAL, duplicate_of=0),
    hidden_1_frame=dict(paths=PASSING, hidden={0: [5]}),
    hidden_2_frames=dict(paths=PASSING, hidden={0: [5, 6]}),
    hidden_3_frames=dict(paths=PASSING, hidden={0: [4, 5, 6]}),
)
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The small configs' trackers with the identity options on. The small SG-Net config has them
#: (measured on trained models, README "Video identity"); the small SipMask-VIS has some.
SGNET_TRACKER = Config.fromfile(
    osp.join(ROOT, 'configs/sgnet/sgnet_r18_fpn_generated-ytvis.py')).model.tracker.to_dict()
SIPMASK_TRACKER = dict(Config.fromfile(osp.join(
    ROOT, 'configs/sipmask_vis/sipmask-vis_r18_fpn_generated-ytvis.py')).model.tracker.to_dict(),
    type='SipMaskVISTracker', one_to_one=True, duplicate_iou_thr=0.5, iou_motion=True)
TRACKERS = dict(
    sgnet=(SGNET_TRACKER, False),
    # near-identical appearance: the embeddings alone cannot tell the objects apart
    sipmask_vis=(SIPMASK_TRACKER, True),  # no label term (det_label=0)
    sipmask_vis_paper_weights=(dict(SIPMASK_TRACKER, match_weights=dict(
        det_score=1.0, iou=2.0, det_label=10.0)), True),
)


@pytest.mark.parametrize('tracker', TRACKERS)
@pytest.mark.parametrize('scenario', SCENARIOS)
def test_tracker_keeps_ids_on_scripted_detections(scenario, tracker):
    cfg, similar = TRACKERS[tracker]
    frames = scripted_video(**SCENARIOS[scenario], similar=similar, embed_noise=0.3)
    outputs = run_tracker(cfg, frames)
    ids, identity = ids_of_objects(frames, outputs)
    assert keeps_ids(ids), ids
    assert id_switches(identity) == 0
    assert idf1(identity)['IDF1'] == 1.0  # and no duplicate track is reported


#: Crossing, and while the two overlap the model sees one box over both (the front one's
#: detection) and a weaker one of the back object's visible part
MERGED = dict(paths=CROSSING_FASTER, merged=(0, 1))


def test_sgnet_tracker_keeps_ids_through_a_box_over_both_crossing_objects():
    frames = scripted_video(**MERGED, embed_noise=0.3)
    ids, identity = ids_of_objects(frames, run_tracker(SGNET_TRACKER, frames))
    assert keeps_ids(ids), ids
    assert id_switches(identity) == 0 and idf1(identity)['IDF1'] == 1.0
    # without merge_size_thr the merge takes the back object's track and moves it
    off = dict(SGNET_TRACKER, merge_size_thr=None)
    ids, identity = ids_of_objects(frames, run_tracker(off, frames))
    assert not keeps_ids(ids) and id_switches(identity) >= 3, ids


def test_sipmask_vis_tracker_switches_less_through_a_box_over_both_crossing_objects():
    """Near-identical embeddings, the mean one for the merge: the option keeps the object's
    memory, 4 switches instead of 14 (the embedding still picks the merge for the back
    object's track in one frame)."""
    frames = scripted_video(**MERGED, similar=True, embed_noise=0.3)
    switches = {}
    for thr in (1.2, None):
        _, identity = ids_of_objects(frames, run_tracker(
            dict(SIPMASK_TRACKER, merge_size_thr=thr), frames))
        switches[thr] = id_switches(identity)
    assert switches[1.2] <= 4 < 10 <= switches[None], switches


def test_center_mode_mask_keeps_ids_where_a_box_over_both_objects_has_the_front_ones_mask():
    """Without ``merge_size_thr``: the box over both crossing objects has its centre between
    them and takes the back object's track; its mask's centroid is the front object's."""
    frames = scripted_video(**MERGED, merged_mask='front', embed_noise=0.3)
    kept = {}
    for mode in ('box', 'mask'):
        ids, identity = ids_of_objects(frames, run_tracker(
            dict(SGNET_TRACKER, center_mode=mode, merge_size_thr=None), frames))
        kept[mode] = (keeps_ids(ids), id_switches(identity))
    assert kept == {'box': (False, 7), 'mask': (True, 0)}, kept


def test_mask_centroids_are_in_box_coordinates_of_pixel_centres():
    masks = torch.zeros(2, 4, 6, dtype=torch.bool)
    masks[0, 1:3, 2:4] = True  # pixels x 2..3, y 1..2: centres 2.5..3.5, 1.5..2.5
    fallback = torch.tensor([[9.0, 9.0], [7.0, 5.0]])
    assert mask_centroids(masks, fallback).tolist() == [[3.0, 2.0], [7.0, 5.0]]  # 2nd empty


@pytest.mark.parametrize('new_track_velocity', ['zero', 'detection'])
def test_sgnet_tracker_keeps_a_standing_object_whose_predicted_movement_is_wrong(
        new_track_velocity):
    """The object standing by the border is predicted to move 50 px a frame (what a trained
    small SG-Net predicts there). With its first movement taken from ``D`` it misses its
    track in every frame and takes a new id each time; assumed still, it keeps its id."""
    frames = scripted_video(CROSSING_EQUAL, movement_of={2: (50.0, 0.0)})
    outputs = run_tracker(dict(SGNET_TRACKER, new_track_velocity=new_track_velocity), frames)
    ids, identity = ids_of_objects(frames, outputs)
    assert ids[0] == [ids[0][0]] * N and ids[1] == [ids[1][0]] * N, ids  # the crossing pair
    if new_track_velocity == 'zero':
        assert keeps_ids(ids) and id_switches(identity) == 0, ids
    else:
        assert len(set(ids[2])) == N, ids  # a new id in every frame


@pytest.mark.parametrize('match_order', ['distance', 'score'])
def test_match_order_when_an_object_comes_out_from_behind_another(match_order):
    """Object 0 starts hidden behind object 1, which stands still, and comes out to the
    left, 8 px a frame, detected with the higher score. In frame 1 its visible strip is
    within its radius of object 1's track: by score it takes that track first (and object 1
    a new id); by distance object 1's own detection, at distance 0, keeps it."""
    frames = scripted_video([straight((80, 64), (80 - 8 * (N - 1), 64), N), [(80, 64)] * N])
    assert frames[0][1] == [1] and frames[1][1] == [0, 1]  # hidden at first, then out
    outputs = run_tracker(dict(SGNET_TRACKER, match_order=match_order), frames)
    ids, _ = ids_of_objects(frames, outputs)
    assert keeps_ids({k: [i for i in v if i is not None] for k, v in ids.items()}) is \
        (match_order == 'distance'), ids


def test_merged_detections_contain_two_predicted_centres_and_are_larger():
    from mmsgnet.models.trackers.duplicates import merged_detections
    tracks = torch.tensor([[0., 0, 10, 10], [6, 0, 16, 10], [40, 40, 50, 50]])
    boxes = torch.tensor([[0., 0, 16, 10],  # over tracks 0 and 1, 1.6x the area: a merge
                          [2, 0, 13, 10],  # over both but 1.1x: an object's own box
                          [0, 0, 10, 10],  # one centre
                          [0, 0, 50, 50]])  # over all three
    assert merged_detections(boxes, tracks, 1.2).tolist() == [True, False, False, True]
    assert merged_detections(boxes, tracks, 1.0).tolist() == [True, True, False, True]
    assert merged_detections(boxes, tracks, None).tolist() == [False] * 4
    assert merged_detections(boxes, tracks[:1], 1.2).tolist() == [False] * 4


def test_duplicates_are_lower_scored_copies_by_mask_then_box():
    from mmsgnet.models.trackers.duplicates import duplicate_mask
    masks = torch.zeros(3, 10, 10, dtype=torch.bool)
    masks[0, :5, :5] = masks[1, :5, :4] = masks[2, 5:, 5:] = True
    inst = InstanceData(masks=masks, scores=torch.tensor([0.5, 0.9, 0.8]),
                        bboxes=torch.tensor([[0., 0, 5, 5], [0, 0, 4, 5], [5, 5, 10, 10]]))
    # mask IoU(0, 1) = 20 / 25 = 0.8: the weaker 0 is the duplicate
    assert duplicate_mask(inst, 0.8).tolist() == [True, False, False]
    assert duplicate_mask(inst, 0.81).tolist() == [False, False, False]
    assert duplicate_mask(inst, None).tolist() == [False, False, False]
    inst.pop('masks')  # box IoU, the same here
    assert duplicate_mask(inst, 0.8).tolist() == [True, False, False]


def test_one_to_one_assignment_gives_each_previous_object_one_detection():
    tracker = MODELS.build(dict(type='SipMaskVISTracker', one_to_one=True))
    tracker.tracks = {7: {}, 9: {}}
    tracker.num_tracks = 10
    # both detections prefer object 7; detection 1 scores it higher, detection 0 gets 9
    scores = torch.tensor([[0.0, 5.0, 4.0], [0.0, 6.0, 1.0], [3.0, 2.0, 2.5]])
    ids, _ = tracker.assign_ids(scores)
    assert ids.tolist() == [9, 7, 10]  # detection 2 prefers a new track
    mmdet = MODELS.build(dict(type='MaskTrackRCNNTracker'))
    mmdet.tracks, mmdet.num_tracks = {7: {}, 9: {}}, 10
    assert mmdet.assign_ids(scores)[0].tolist() == [7, 7, 10]  # what one_to_one fixes


def test_unique_ids_gives_a_previous_object_to_its_best_claimant_only():
    scores = torch.tensor([[0.0, 5.0, 4.0], [0.0, 6.0, 1.0], [3.0, 2.0, 2.5]])
    tracker = MODELS.build(dict(type='SipMaskVISTracker', unique_ids=True))
    tracker.tracks, tracker.num_tracks = {7: {}, 9: {}}, 10
    # mmdet: [7, 7, 10]; the earlier claimant of 7 loses it to the later, higher one and is
    # dropped (not given its next-best column, 9, as one_to_one does)
    assert tracker.assign_ids(scores)[0].tolist() == [-1, 7, 10]
    tracker.tracks, tracker.num_tracks = {7: {}, 9: {}}, 10
    # the earlier claimant scores higher: mmdet already drops the later one
    assert tracker.assign_ids(scores[[1, 0, 2]])[0].tolist() == [7, -1, 10]
    # different objects: unchanged
    scores = torch.tensor([[0.0, 5.0, 4.0], [0.0, 1.0, 6.0]])
    tracker.tracks, tracker.num_tracks = {7: {}, 9: {}}, 10
    assert tracker.assign_ids(scores)[0].tolist() == [7, 9]


@pytest.mark.parametrize('cfg', [dict(type='CenternessTracker', motion='kalman'),
                                 dict(type='CenternessTracker', duplicate_iou_thr=0.0),
                                 dict(type='CenternessTracker', velocity_window=0),
                                 dict(type='CenternessTracker', new_track_velocity='kalman'),
                                 dict(type='CenternessTracker', match_order='iou'),
                                 dict(type='CenternessTracker', merge_size_thr=0.9),
                                 dict(type='SipMaskVISTracker', merge_size_thr=0.5),
                                 dict(type='SipMaskVISTracker', duplicate_iou_thr=1.5)])
def test_tracker_options_are_checked(cfg):
    with pytest.raises(ValueError, match='must be'):
        MODELS.build(cfg)


def test_iou_motion_moves_the_last_box_by_the_observed_displacement():
    tracker = MODELS.build(dict(type='SipMaskVISTracker', iou_motion=True))
    for frame_id, x in ((0, 0.0), (1, 2.0)):
        ids = torch.tensor([0])
        boxes = torch.tensor([[x, 0.0, x + 10, 10]])
        velocities = tracker.velocities(ids, boxes, frame_id)
        tracker.update(ids=ids, bboxes=boxes, velocities=velocities, frame_ids=frame_id)
    assert tracker.velocities(ids, torch.tensor([[8.0, 0, 18, 10]]), 4).tolist() == [[2.0, 0.0]]
    # seen last in frame 1 at x = 2, moving 2 px a frame: at x = 8 in frame 4
    assert tracker.previous_boxes(4).tolist() == [[8.0, 0.0, 18.0, 10.0]]
    tracker.iou_motion = False
    assert tracker.previous_boxes(4).tolist() == [[2.0, 0.0, 12.0, 10.0]]


@pytest.mark.parametrize('tracker', ['sgnet', 'sipmask_vis'])
def test_a_tracks_memory_does_not_grow_with_its_length(tracker):
    """mmdet's BaseTracker appends a track's box, embedding and mask of every frame; ours
    keep what the association reads (the last ``velocity_window`` / last entries), with the
    same ids as with the whole history."""
    cfg = TRACKERS[tracker][0]
    frames = scripted_video(paths=[straight((20, 30), (140, 100), 40), [(140, 112)] * 40])
    bounded, whole = MODELS.build(cfg), MODELS.build(cfg)
    whole.memo_len = len(frames)
    outputs = run_tracker(bounded, frames)
    assert keeps_ids(ids_of_objects(frames, outputs)[0])
    assert [o.instances_id.tolist() for o in outputs] == \
        [o.instances_id.tolist() for o in run_tracker(whole, frames)]
    lengths = {len(v) for track in bounded.tracks.values() for v in track.values()
               if isinstance(v, list)}
    assert lengths == {cfg.get('velocity_window', 1)}, lengths
