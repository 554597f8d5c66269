"""SipMask-VIS: embedding sampling, matching loss, every config on a short video."""
import glob
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from vis_utils import make_short_video, predict_short_video

import mmsgnet  # noqa: F401
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmsgnet.models.tracking_heads import sample_at_box_centers

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'sipmask_vis', '*.py')))


def test_embeddings_are_sampled_at_box_centres_including_the_border():
    embed = torch.arange(2 * 4 * 5, dtype=torch.float).view(2, 4, 5)  # (C, H, W), stride 8
    boxes = torch.tensor([
        [0., 0., 16., 16.],  # centre (8, 8) -> cell (1, 1)
        [30., 20., 40., 30.],  # centre (35, 25) -> (3, 4)
        [-20., -20., -4., -4.],  # centre outside, top-left -> clamped to (0, 0)
        [30., 28., 90., 60.],  # centre (60, 44) beyond the map -> clamped to (3, 4)
    ])
    out = sample_at_box_centers(embed, boxes, stride=8)
    expected = torch.stack([embed[:, 1, 1], embed[:, 3, 4], embed[:, 0, 0], embed[:, 3, 4]])
    torch.testing.assert_close(out, expected)


def _head():
    init_default_scope('mmdet')
    return MODELS.build(dict(type='SipMaskTrackHead', in_channels=32, num_convs=1,
                             num_levels=1, embed_channels=4, ref_jitter=0.0,
                             norm_cfg=None))


def test_match_targets_mark_objects_absent_from_the_reference_frame():
    head = _head()
    targets = head.match_targets(torch.tensor([7, 9, 7, 4]), torch.tensor([4, 7]))
    assert targets.tolist() == [2, 0, 2, 1]  # 1 + index in the reference; 0 = absent


def test_matching_loss_with_an_absent_object_equals_the_hand_computed_cross_entropy():
    head = _head()
    key_feats = (torch.randn(1, 32, 4, 4), )
    ref_feats = (torch.randn(1, 32, 4, 4), )
    info = InstanceData(bboxes=torch.tensor([[0., 0., 16., 16.], [16., 16., 32., 32.]]),
                        gt_inds=torch.tensor([0, 1]))
    key = DetDataSample()
    key.gt_instances = InstanceData(bboxes=torch.zeros(2, 4), labels=torch.zeros(2).long(),
                                    instances_ids=torch.tensor([3, 5]))
    ref = DetDataSample()
    ref.gt_instances = InstanceData(bboxes=torch.tensor([[0., 0., 8., 8.]]),
                                    labels=torch.zeros(1).long(),
                                    instances_ids=torch.tensor([3]))  # instance 5 is absent
    loss = head.loss(key_feats, ref_feats, [info], [key], [ref])['loss_match']
    f = sample_at_box_centers(head(key_feats)[0], info.bboxes, 8)
    g = sample_at_box_centers(head(ref_feats)[0], ref.gt_instances.bboxes, 8)
    logits = torch.cat([torch.zeros(2, 1), f @ g.t()], dim=1)
    expected = (-F.log_softmax(logits, 1)[0, 1] - F.log_softmax(logits, 1)[1, 0]) / 2
    torch.testing.assert_close(loss, expected)
    loss.backward()  # gradients reach the embedding branch
    assert head.embed.weight.grad.abs().sum() > 0


def test_similarity_logits_have_a_new_object_column():
    head = _head()
    logits = head.predict(torch.tensor([[1., 0.], [0., 2.]]), torch.tensor([[3., 1.]]))
    torch.testing.assert_close(logits, torch.tensor([[0., 3.], [0., 2.]]))
    assert math.isclose(float(logits.softmax(1)[0, 1]), 1 / (1 + math.exp(-3)), rel_tol=1e-6)


def test_all_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    for year in ('2019', '2021'):
        for scale in ('1x', 'ms-1x'):
            assert f'sipmask-vis_r50-caffe_fpn_gn-head_{scale}_youtubevis{year}.py' in names


@pytest.mark.parametrize('config', [c for c in CONFIGS if 'generated' not in c],
                         ids=osp.basename)
def test_paper_configs_never_drop_a_track(config):
    """The authors keep every earlier object as a candidate: a track unseen for 1000 frames
    is still in the tracker's memory (mmdet's default would drop it after 20)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    tracker = MODELS.build(cfg.model.tracker)

    def update(track_id, frame_id):
        tracker.update(ids=torch.tensor([track_id]), bboxes=torch.tensor([[0., 0., 9., 9.]]),
                       labels=torch.tensor([0]), scores=torch.tensor([0.9]),
                       roi_feats=torch.zeros(1, 4), frame_ids=frame_id)

    update(0, 0)
    update(1, 1000)
    assert sorted(tracker.tracks) == [0, 1]


@pytest.fixture(scope='module')
def short_video(tmp_path_factory):
    return make_short_video(tmp_path_factory.mktemp('ytvis'))


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_config_builds_and_predicts_a_short_video(config, short_video):
    cfg, video = predict_short_video(config, short_video)
    assert len(video) == 2
    ids = []
    for frame in video:
        pred = frame.pred_track_instances
        assert len(pred) > 0
        assert pred.masks.dtype == torch.bool and pred.masks.shape[1:] == (120, 160)
        ids.append(set(pred.instances_id.tolist()))
    assert ids[0] == set(range(len(ids[0])))  # first frame: new ids 0..N-1


def test_load_from_an_image_sipmask_checkpoint_initialises_the_detector(tmp_path):
    """``load_from`` = a COCO-style SipMask checkpoint (keys without ``detector.``): the
    Runner's loading puts every detector tensor in place; the track head keeps its init."""
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    init_default_scope('mmdet')
    vis_cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'sipmask_vis', 'sipmask-vis_r18_fpn_generated-ytvis.py'))
    image_cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py'))
    # the image model with the video config's (half-width) backbone and neck
    image_cfg.model.backbone = vis_cfg.model.detector.backbone
    image_cfg.model.neck.in_channels = vis_cfg.model.detector.neck.in_channels
    image_model = MODELS.build(image_cfg.model)
    ckpt = tmp_path / 'sipmask_coco.pth'
    torch.save({'state_dict': image_model.state_dict(), 'meta': {}}, ckpt)

    vis_model = MODELS.build(vis_cfg.model)
    track_before = {k: v.clone() for k, v in vis_model.track_head.state_dict().items()}
    # what Runner.load_checkpoint does with cfg.load_from
    load_checkpoint(vis_model, str(ckpt), map_location='cpu', strict=False,
                    revise_keys=[(r'^module.', '')])
    for key, value in image_model.state_dict().items():
        assert torch.equal(vis_model.detector.state_dict()[key], value), key
    for key, value in vis_model.track_head.state_dict().items():
        assert torch.equal(value, track_before[key]), key
    # a VIS checkpoint (keys with detector.) still loads as it is
    ckpt2 = tmp_path / 'vis.pth'
    torch.save({'state_dict': vis_model.state_dict(), 'meta': {}}, ckpt2)
    other = MODELS.build(vis_cfg.model)
    load_checkpoint(other, str(ckpt2), map_location='cpu', strict=True)
    for key, value in vis_model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key
