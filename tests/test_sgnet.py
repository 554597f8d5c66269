"""SG-Net: GIoU loss, division and cell mapping, tracker, movement targets, every config."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from vis_utils import make_short_video, predict_short_video

import mmsgnet  # noqa: F401
from mmdet.registry import DATASETS, MODELS, TRANSFORMS
from mmdet.structures import DetDataSample
from mmsgnet.models.layers import GranularityBlender, division_grid

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SGNET_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'sgnet*', '**', '*.py'),
                                 recursive=True))


# ------------------------------------------------------------------ GIoU loss
def test_log_giou_loss_value_and_gradient_on_hand_computed_boxes():
    loss = MODELS.build(dict(type='LogGIoULoss', reduction='none'))
    pred = torch.tensor([[0., 0., 2., 2.], [0., 0., 1., 1.]], requires_grad=True)
    target = torch.tensor([[1., 1., 3., 3.], [0., 0., 1., 1.]])
    # box 1: inter 1, union 7, IoU 1/7, enclosing 3x3=9 -> GIoU = 1/7 - 2/9
    giou = 1 / 7 - (9 - 7) / 9
    values = loss(pred, target)
    torch.testing.assert_close(values, torch.tensor([-math.log((1 + giou) / 2), 0.0]))
    values[0].backward()
    # d/dx2 of -ln((1+GIoU)/2) for pred (0,0,x2,2), target (1,1,3,3), at x2 = 2:
    # inter = x2 - 1, union U = x2 + 5, enclosing C = 9 (x2 < 3); GIoU = inter/U - 1 + U/C
    # -> dGIoU/dx2 = 6/U^2 + 1/C = 6/49 + 1/9
    expected = -(6 / 49 + 1 / 9) / (1 + giou)
    assert pred.grad[0, 2].item() == pytest.approx(expected, rel=1e-4)
    assert pred.grad[1].abs().sum() == 0


def test_log_giou_loss_is_larger_than_one_minus_giou_for_poor_overlap():
    loss = MODELS.build(dict(type='LogGIoULoss', reduction='none'))
    pred, target = torch.tensor([[0., 0., 1., 1.]]), torch.tensor([[5., 5., 6., 6.]])
    giou_loss = MODELS.build(dict(type='GIoULoss', reduction='none'))
    assert loss(pred, target).item() > giou_loss(pred, target).item()


# ------------------------------------------------------ division and mapping
def test_dynamic_division_on_hand_computed_boxes():
    boxes = torch.tensor([[0., 0., 120., 40.], [10., 10., 410., 60.], [0., 0., 0., 0.],
                          [0., 0., 50., 50.1]])
    rows, cols = division_grid(boxes, 6, 50)
    assert cols.tolist() == [3, 6, 1, 1]  # ceil(120/50)=3, min(6, 8)=6, 0 -> 1, 1
    assert rows.tolist() == [1, 1, 1, 2]  # ceil(40/50)=1, 1, 1, ceil(50.1/50)=2


def test_sgnet_blender_reads_the_channel_group_of_the_relative_position():
    """A 120x40 box (G=6, S=50) has 1x3 sub-regions; they read canonical cells
    (3, 1), (3, 3), (3, 5) = channels 19, 21, 23 (d=1)."""
    blender = GranularityBlender(max_division=6, division_size=50, shared_basis=False,
                                 base_stride=2)
    base = torch.arange(36.).view(36, 1, 1).expand(36, 20, 60) / 100  # channel j -> j/100
    coeffs = torch.ones(1, 36, 1)
    probs = blender(base, torch.tensor([[0., 0., 120., 40.]]), coeffs)[0]
    logits = torch.logit(probs[:, :60])
    read = (logits[0] * 100).round().long()  # stride 2: 60 columns, 20 per sub-region
    assert read[:20].unique().tolist() == [19]
    assert read[20:40].unique().tolist() == [21]
    assert read[40:60].unique().tolist() == [23]


# ------------------------------------------------------------------ tracker
def _frame(frame_id, boxes, scores=None, movements=None, labels=None, points=None):
    boxes = torch.tensor(boxes, dtype=torch.float)
    n = len(boxes)
    inst = InstanceData(
        bboxes=boxes.reshape(-1, 4),
        scores=torch.tensor(scores if scores is not None else [0.9] * n, dtype=torch.float),
        labels=torch.tensor(labels if labels is not None else [0] * n, dtype=torch.long),
        points=(torch.tensor(points, dtype=torch.float) if points is not None else
                (boxes.reshape(-1, 4)[:, :2] + boxes.reshape(-1, 4)[:, 2:]) / 2),
        movements=torch.tensor(movements if movements is not None else [[0., 0.]] * n,
                               dtype=torch.float).reshape(-1, 2))
    sample = DetDataSample(metainfo=dict(frame_id=frame_id))
    sample.pred_instances = inst
    return sample


def _ids(tracker, sample):
    return tracker.track(data_sample=sample).instances_id.tolist()


def test_tracker_follows_crossing_objects_with_their_movements():
    tracker = MODELS.build(dict(type='CenternessTracker', num_frames_retain=3))
    # A moves right, B moves left, 30 px per frame; they pass each other between frames 1-2

    def boxes(t):
        a, b = 20 + 30 * t, 110 - 30 * t
        return [[a - 15, 10, a + 15, 40], [b - 15, 12, b + 15, 42]]
    ids = [_ids(tracker, _frame(t, boxes(t), movements=[[30., 0.], [-30., 0.]]))
           for t in range(5)]
    assert ids[0] == [0, 1]
    assert all(i == [0, 1] for i in ids)
    # without the movement the same greedy matching swaps ids near the crossing
    naive = MODELS.build(dict(type='CenternessTracker', use_movement=False))
    swapped = [_ids(naive, _frame(t, boxes(t))) for t in range(5)]
    assert any(i != [0, 1] for i in swapped)


def test_tracker_retention_window():
    tracker = MODELS.build(dict(type='CenternessTracker', num_frames_retain=2))
    box = [[40, 40, 80, 80]]
    assert _ids(tracker, _frame(0, box)) == [0]
    assert _ids(tracker, _frame(1, [])) == []
    assert _ids(tracker, _frame(2, [])) == []
    assert _ids(tracker, _frame(3, box)) == [0]  # back within 2 missed frames
    for t in (4, 5, 6):
        assert _ids(tracker, _frame(t, [])) == []
    assert _ids(tracker, _frame(7, box)) == [1]  # 3 missed frames: a new id


def test_tracker_extrapolates_a_missed_track_with_its_last_movement():
    tracker = MODELS.build(dict(type='CenternessTracker', num_frames_retain=5))
    assert _ids(tracker, _frame(0, [[0, 0, 20, 20]], movements=[[15., 0.]])) == [0]
    assert _ids(tracker, _frame(1, [])) == []
    # at frame 2 the object is 30 px further; the track extrapolated to frame 1 is 15 px
    # right of its last position, and the detection says it came from 15 px left: a match
    assert _ids(tracker, _frame(2, [[30, 0, 50, 20]], movements=[[15., 0.]])) == [0]


def test_tracker_more_detections_than_tracks_and_label_matching():
    tracker = MODELS.build(dict(type='CenternessTracker', match_label=True))
    assert _ids(tracker, _frame(0, [[0, 0, 20, 20]], labels=[1])) == [0]
    ids = _ids(tracker, _frame(1, [[1, 0, 21, 20], [2, 0, 22, 20], [100, 100, 120, 120]],
                               scores=[0.5, 0.9, 0.8], labels=[1, 1, 1]))
    assert ids == [1, 0, 2]  # the highest-scoring nearby detection takes the track
    ids = _ids(tracker, _frame(2, [[2, 0, 22, 20]], labels=[0]))
    assert ids == [3]  # same place, other label: a new id


def test_tracker_resets_on_a_new_video():
    tracker = MODELS.build(dict(type='CenternessTracker'))
    _ids(tracker, _frame(0, [[0, 0, 20, 20]]))
    _ids(tracker, _frame(1, [[0, 0, 20, 20], [50, 50, 70, 70]]))
    assert _ids(tracker, _frame(0, [[0, 0, 20, 20]])) == [0]


# ---------------------------------------------------------- movement targets
def test_movement_targets_on_a_scripted_pair_of_frames():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py'))
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    key = DetDataSample(metainfo=dict(frame_id=5))
    key.gt_instances = InstanceData(
        bboxes=torch.tensor([[10., 10., 30., 30.], [50., 50., 90., 70.]]),
        labels=torch.tensor([0, 1]), instances_ids=torch.tensor([7, 9]))
    ref = DetDataSample(metainfo=dict(frame_id=3))
    ref.gt_instances = InstanceData(bboxes=torch.tensor([[0., 0., 20., 20.]]),
                                    labels=torch.tensor([0]), instances_ids=torch.tensor([7]))
    info = InstanceData(bboxes=torch.zeros(3, 4), gt_inds=torch.tensor([0, 1, 0]),
                        priors=torch.tensor([[20., 20., 8., 8.], [70., 60., 16., 16.],
                                             [16., 16., 8., 8.]]))
    targets, valid = model.movement_targets(info, key, ref)
    assert valid.tolist() == [True, False, True]  # instance 9 is not in the reference frame
    # centre (20, 20) - (10, 10) over a 2-frame gap = 5 px/frame = 0.625 stride units
    torch.testing.assert_close(targets[valid], torch.tensor([[0.625, 0.625], [0.625, 0.625]]))


def _pair(key_frame, ref_frame, key_boxes, ref_boxes, key_ids, ref_ids):
    key = DetDataSample(metainfo=dict(frame_id=key_frame))
    key.gt_instances = InstanceData(bboxes=torch.tensor(key_boxes),
                                    labels=torch.zeros(len(key_boxes), dtype=torch.long),
                                    instances_ids=torch.tensor(key_ids))
    ref = DetDataSample(metainfo=dict(frame_id=ref_frame))
    ref.gt_instances = InstanceData(bboxes=torch.tensor(ref_boxes),
                                    labels=torch.zeros(len(ref_boxes), dtype=torch.long),
                                    instances_ids=torch.tensor(ref_ids))
    return key, ref


@pytest.mark.parametrize('normalize', [True, False])
def test_movement_target_points_forward_in_time_with_a_later_reference(normalize):
    """D_t = o_t - o_{t-1} points from the earlier frame to the later one, also when the
    reference comes after the key frame; without normalisation it spans the whole gap."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py'))
    cfg.model.normalize_by_frame_gap = normalize
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    info = InstanceData(bboxes=torch.zeros(1, 4), gt_inds=torch.tensor([0]),
                        priors=torch.tensor([[20., 20., 8., 8.]]))
    # the object moves +16 px in x over frames 3 -> 5
    early, late = [[0., 0., 20., 20.]], [[16., 0., 36., 20.]]
    for key_frame, ref_frame, key_boxes, ref_boxes in ((5, 3, late, early),
                                                       (3, 5, early, late)):
        key, ref = _pair(key_frame, ref_frame, key_boxes, ref_boxes, [7], [7])
        targets, valid = model.movement_targets(info, key, ref)
        assert valid.tolist() == [True]
        # 16 px over 2 frames: 8 px/frame = 1 stride unit; or 16 px = 2 units over the gap
        expected = [[1.0, 0.0]] if normalize else [[2.0, 0.0]]
        torch.testing.assert_close(targets, torch.tensor(expected))


def test_movement_loss_averages_the_l1_norm_over_positives():
    """Eq. 4: L = 1/N sum_i ||D_i - (o_t - o_{t-1})||_1 over the N positives with a target
    (not the mean over the 2N coordinates)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py'))
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    num_attention = model.detector.bbox_head.num_attention
    # key frame 4, reference frame 3: instance 7 moved (+8, -4) px, instance 9 (+24, +8) px,
    # instance 5 is not in the reference frame (no target)
    key, ref = _pair(4, 3, [[8., 0., 28., 20.], [64., 48., 104., 72.], [0., 0., 4., 4.]],
                     [[0., 4., 20., 24.], [40., 40., 80., 64.]], [7, 9, 5], [7, 9])
    params = torch.zeros(3, num_attention + 2)
    params[:, -2:] = torch.tensor([[0.5, 0.5], [1.0, 1.0], [9., 9.]])  # predicted D
    info = InstanceData(bboxes=torch.zeros(3, 4), gt_inds=torch.tensor([0, 1, 2]),
                        priors=torch.tensor([[18., 10., 8., 8.], [84., 60., 16., 16.],
                                             [2., 2., 8., 8.]]), params=params)
    loss = model.track_loss(None, None, [key], [ref], [info])['loss_track']
    # targets in stride units: (8, -4) / 8 = (1, -0.5); (24, 8) / 16 = (1.5, 0.5)
    # L1 norms: |0.5 - 1| + |0.5 + 0.5| = 1.5; |1 - 1.5| + |1 - 0.5| = 1.0 -> mean 1.25
    assert loss.item() == pytest.approx(1.25, rel=1e-5)


# ------------------------------------------------- reference frames (Eq. 4)
def _training_pairs(config, root, num_frames):
    """(key frame_id, reference frame_id, movement-target mask) of every key frame of the
    generated video, through the config's own training pipeline and ``SGNet``."""
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    cfg.model.detector.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.update(type='YouTubeVISDataset', data_root=str(root) + '/',
                       ann_file='val/annotations/instances_cocovid.json',
                       data_prefix=dict(img_path='val/JPEGImages/'),
                       metainfo=dict(classes=('person', 'giant_panda', 'lizard')))
    for key in ('check_images', 'check_workers'):  # arguments of StrictYouTubeVISDataset only
        dataset_cfg.pop(key, None)
    dataset = DATASETS.build(dataset_cfg)
    pairs = []
    for t in range(num_frames):
        sample = dataset.prepare_data((0, t))['data_samples']  # key frame t of video 0
        key = sample[sample.key_frames_inds[0]]
        ref = sample[sample.ref_frames_inds[0]]
        info = InstanceData(bboxes=torch.zeros(len(key.gt_instances), 4),
                            gt_inds=torch.arange(len(key.gt_instances)),
                            priors=torch.tensor([[0., 0., 8., 8.]]).repeat(
                                len(key.gt_instances), 1))
        _, valid = model.movement_targets(info, key, ref)
        pairs.append((key.frame_id, ref.frame_id, valid))
    return pairs


@pytest.mark.parametrize('config', ['sgnet_r18_fpn_generated-ytvis.py',
                                    'sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'])
def test_sgnet_configs_train_on_previous_frame_pairs(config, tmp_path):
    """Eq. 4 trains D_t = o_t - o_{t-1}: every key frame t > 0 is paired with t - 1 (never
    t + 1); the first frame is its own reference and gets no movement target."""
    num_frames = 4
    root = make_short_video(tmp_path, num_frames=num_frames)
    for _ in range(3):  # the sampler is deterministic: no t + 1 in any draw
        pairs = _training_pairs(osp.join(ROOT, 'configs', 'sgnet', config), root, num_frames)
        assert [(k, r) for k, r, _ in pairs] == [(0, 0), (1, 0), (2, 1), (3, 2)]
        assert not pairs[0][2].any()  # frame 0: no movement loss
        assert all(valid.any() for _, _, valid in pairs[1:])  # frames 1-3: targets


def test_previous_frame_sample_first_frame_modes():
    sampler = TRANSFORMS.build(dict(type='PreviousFrameSample', first_frame='next_pair'))
    assert sampler.sampling_frames(5, 0) == ([0, 1], [False, True])  # the pair (1, 0)
    assert sampler.sampling_frames(5, 3) == ([2, 3], [False, True])
    assert sampler.sampling_frames(1, 0) == ([0, 0], [True, False])  # one-frame video
    default = TRANSFORMS.build(dict(type='PreviousFrameSample'))
    assert default.sampling_frames(5, 0) == ([0, 0], [True, False])
    with pytest.raises(ValueError, match='first_frame must be one of'):
        TRANSFORMS.build(dict(type='PreviousFrameSample', first_frame='skip'))


# ------------------------------------------------------------------- configs
def test_all_paper_configs_exist():
    names = {osp.basename(p) for p in SGNET_CONFIGS}
    for year in ('2019', '2021'):
        for depth in ('50', '101'):
            assert f'sgnet_r{depth}_fpn_1xb8-12e_youtubevis{year}.py' in names
    assert sum('_t2' in n for n in names) == 5
    assert sum('_t3-' in n for n in names) == 4
    assert sum('_t4-' in n for n in names) == 3
    assert sum('_t5-' in n for n in names) == 3


@pytest.fixture(scope='module')
def short_video(tmp_path_factory):
    return make_short_video(tmp_path_factory.mktemp('ytvis'))


@pytest.mark.parametrize('config', SGNET_CONFIGS, ids=osp.basename)
def test_config_builds_and_predicts_a_short_video(config, short_video):
    cfg, video = predict_short_video(config, short_video)
    assert len(video) == 2
    for frame in video:
        pred = frame.pred_track_instances
        assert len(pred) > 0
        assert pred.masks.dtype == torch.bool and pred.masks.shape[1:] == (120, 160)
        assert pred.instances_id.dtype == torch.long
        assert len(pred) <= cfg.model.detector.test_cfg.max_per_img


def test_tracker_weak_detections_do_not_start_tracks():
    tracker = MODELS.build(dict(type='CenternessTracker', init_score_thr=0.3))
    # a strong object and a weak duplicate beside it
    assert _ids(tracker, _frame(0, [[0, 0, 40, 40], [12, 0, 52, 40]], scores=[0.9, 0.1])) == [0, 1]
    assert tracker.ids == [0]  # the weak one got an id but is not remembered
    # next frame the object's detection lands nearer the duplicate's old place: it still
    # continues the only remembered track
    assert _ids(tracker, _frame(1, [[10, 0, 50, 40]], scores=[0.9])) == [0]


def test_test_tracking_tool_writes_youtube_vis_results(tmp_path, short_video):
    """mmdet's test_tracking.py (through our wrapper) + YTVISMetric on an SG-Net model."""
    import json
    import subprocess
    import sys
    import zipfile
    config = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    ckpt = tmp_path / 'random.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, ckpt)
    prefix = tmp_path / 'results'
    cmd = [
        sys.executable, osp.join(ROOT, 'tools', 'test_tracking.py'), config, '--checkpoint',
        str(ckpt), '--work-dir', str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.data_root={short_video}/',
        'test_dataloader.dataset.ann_file=val/annotations/instances_cocovid.json',
        'test_dataloader.dataset.data_prefix.img_path=val/JPEGImages/',
        f'test_evaluator.outfile_prefix={prefix}', 'model.detector.test_cfg.score_thr=0.0'
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with zipfile.ZipFile(f'{prefix}.submission_file.zip') as zf:
        results = json.loads(zf.read('results.json'))
    assert results and all(len(r['segmentations']) == 2 for r in results)  # one per frame
    assert {'video_id', 'category_id', 'score', 'segmentations'} <= set(results[0])
    log = proc.stdout + proc.stderr  # the val split has GT: the AP table and numbers are logged
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]' in log
    assert all(f'youtube_vis/{item}: ' in log for item in ('AP', 'AP50', 'AP75', 'AR10'))


# ------------------------------------------------------- head consistency
SMALL_SGNET = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')


@pytest.mark.parametrize('bbox, mask, keys', [
    # G = 4 attention scores per location read as a 6 x 6 grid: a reshape error at forward
    (dict(max_division=4), dict(max_division=6),
     ('bbox_head.max_division', 'mask_head.max_division')),
    (dict(attention_dim=1), dict(attention_dim=2),
     ('bbox_head.attention_dim', 'mask_head.attention_dim')),
    # base masks from P3 (stride 8) are not at stride 16 / 4
    (dict(), dict(p3_stride=16), ('mask_head.p3_stride', 'bbox_head.strides[0]')),
])
def test_sgnet_refuses_disagreeing_heads_at_build_time(bbox, mask, keys):
    cfg = Config.fromfile(SMALL_SGNET)
    cfg.model.detector.bbox_head.update(bbox)
    cfg.model.detector.mask_head.update(mask)
    init_default_scope('mmdet')
    with pytest.raises(ValueError) as err:
        MODELS.build(cfg.model)
    assert all(f'model.{key}' in str(err.value) for key in keys), str(err.value)


def test_sgnet_derives_mask_head_settings_from_the_bbox_head():
    """G and d set on the bbox head only reach the mask head (Table 3's G needs one key)."""
    cfg = Config.fromfile(SMALL_SGNET)
    cfg.model.detector.bbox_head.update(max_division=3, attention_dim=2)
    cfg.model.detector.mask_head.pop('max_division')
    cfg.model.detector.mask_head.pop('attention_dim')
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    mask_head = model.detector.mask_head
    assert mask_head.blender.grid == (3, 3) and mask_head.attention_dim == 2
    assert mask_head.num_coeff_channels == model.detector.bbox_head.num_attention == 18
