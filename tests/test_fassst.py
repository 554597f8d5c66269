"""FASSST: grid assignment, RFF, Dice loss, every config end to end, the complexity tool."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

import mmsgnet  # noqa: F401
from mmdet.registry import MODELS
from mmsgnet.models.utils import (assign_grid_cells, decode_cell_sides, encode_cell_sides,
                                  grid_cell_centres)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FASSST_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'fassst', '**', '*.py'),
                                  recursive=True))
SMALL_CONFIG = osp.join(ROOT, 'configs', 'fassst', 'fassst_mobilenetv2-0.5x_generated-coco.py')
MAIN_CONFIG = osp.join(ROOT, 'configs', 'fassst', 'fassst-416_mobilenetv2_100e_coco.py')


def build_random_model(cfg, init_weights=True):
    """Model with random weights (nothing downloaded)."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    if init_weights:
        model.init_weights()
    return model.eval()


# ------------------------------------------------------------------ configs
def test_all_paper_variants_have_a_config():
    names = {osp.relpath(p, osp.join(ROOT, 'configs', 'fassst')) for p in FASSST_CONFIGS}
    for expected in ('fassst-416_mobilenetv2_100e_coco.py', 'fassst-768_mobilenetv2_100e_coco.py',
                     'fassst-416_mobilenetv2_cityscapes.py',
                     'fassst-768_mobilenetv2_cityscapes.py', 'fassst-416_r50_fpn_100e_coco.py',
                     'fassst_mobilenetv2-0.5x_generated-coco.py',
                     'ablations/fassst-416_mobilenetv2_t9-without-rff.py'):
        assert expected in names
    assert sum('_t5-depth' in n for n in names) == 3
    assert sum('_t7-n' in n for n in names) == 5  # + the main config's n = 36


@pytest.mark.parametrize('config', FASSST_CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_config_builds_and_predicts_an_image(config, tmp_path):
    cfg = Config.fromfile(config)
    model = build_random_model(cfg, init_weights=False)
    rng = np.random.default_rng(0)
    img = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    cv2.rectangle(img, (30, 30), (90, 100), (0, 200, 0), -1)
    path = str(tmp_path / 'img.jpg')
    cv2.imwrite(path, img)
    transforms = [t for t in cfg.test_dataloader.dataset.pipeline
                  if t['type'] != 'LoadAnnotations']
    for t in transforms:  # keep the CPU test fast: a 256 x 256 network input
        if t['type'] == 'Resize':
            t['scale'] = (256, 256)
    pipeline = Compose(transforms)
    data = pseudo_collate([pipeline(dict(img_path=path, img_id=0))])
    # every cell passes the threshold; 2 masks keep the 256-channel tail cheap
    model.bbox_head.test_cfg['score_thr'] = 0.0
    model.bbox_head.test_cfg['max_per_img'] = 2
    with torch.no_grad():
        result = model.test_step(data)[0].pred_instances
    assert 0 < len(result) <= 2
    assert result.masks.dtype == torch.bool
    assert result.masks.shape[1:] == (120, 160)  # pasted at the original size
    assert result.bboxes.shape == (len(result), 4)
    assert (result.bboxes[:, 2] <= 160 + 1e-3).all() and (result.bboxes[:, 3] <= 120 + 1e-3).all()
    assert (result.labels < cfg.model.bbox_head.num_classes).all()


@pytest.mark.parametrize('size,n', [(416, n) for n in (16, 25, 36, 49, 64, 81)] +
                         [(768, n) for n in (16, 49, 81)])
def test_iam_gives_an_s_by_s_grid_for_every_n_and_input_size(size, n):
    """E (head depth 5: stride 16) -> S x S at 416 and 768 inputs; the tensor-mode forward
    (what the complexity counter runs) segments all n cells."""
    cfg = Config.fromfile(MAIN_CONFIG)
    cfg.model.bbox_head.num_instances = n
    cfg.model.mask_head.rff.out_channels = 8  # a cheap tail; the geometry is what is tested
    cfg.model.mask_head.conv_channels = 32  # (GN: 32 groups)
    model = build_random_model(cfg)
    with torch.no_grad():
        cls_scores, bbox_preds, masks = model._forward(torch.rand(1, 3, size, size))
    s = int(n ** 0.5)
    assert cls_scores.shape == (1, 80, s, s) and bbox_preds.shape == (1, 4, s, s)
    assert masks.shape == (n, 56, 56)


def test_num_instances_must_be_a_square():
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.bbox_head.num_instances = 30
    with pytest.raises(ValueError, match='perfect square'):
        build_random_model(cfg)


# ---------------------------------------------------------- grid assignment
def test_larger_gt_wins_a_shared_cell():
    # 3 x 3 grid over 90 x 90: cells are 30 px; both centres in cell (1, 1)
    small = [40., 40., 50., 50.]
    large = [32., 34., 58., 56.]
    cells = assign_grid_cells(torch.tensor([large, small]), 3, (90, 90))
    assert cells[4] == 0 and (cells[torch.arange(9) != 4] == -1).all()
    cells = assign_grid_cells(torch.tensor([small, large]), 3, (90, 90))
    assert cells[4] == 1


def test_gt_centre_on_a_cell_border_goes_to_the_right_lower_cell():
    # centre (30, 60): on the border of columns 0/1 and rows 1/2 -> cell (2, 1) = 7
    cells = assign_grid_cells(torch.tensor([[20., 50., 40., 70.]]), 3, (90, 90))
    assert cells.tolist() == [-1, -1, -1, -1, -1, -1, -1, 0, -1]


def test_gt_at_the_image_edge_stays_in_the_border_cell():
    # a box at the bottom-right edge (centre 87.5) and a degenerate box on the right edge
    boxes = torch.tensor([[85., 85., 90., 90.], [90., 0., 90., 20.]])
    cells = assign_grid_cells(boxes, 3, (90, 90))
    assert cells[8] == 0 and cells[2] == 1 and (cells >= 0).sum() == 2
    # a non-square input: the grid scales per axis (W = 180: 60 px columns)
    cells = assign_grid_cells(torch.tensor([[170., 0., 180., 10.]]), 3, (90, 180))
    assert cells[2] == 0


def test_neighbourhood_adds_the_3x3_cells_and_centre_claims_win():
    a = [35., 35., 55., 55.]  # centre cell (1, 1)
    b = [70., 5., 80., 25.]  # centre cell (0, 2), smaller than a
    cells = assign_grid_cells(torch.tensor([a, b]), 3, (90, 90), neighbourhood=True)
    # b keeps its own centre cell against the larger a's neighbourhood claim
    assert cells.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0]
    # no GT: all background
    assert (assign_grid_cells(torch.zeros((0, 4)), 3, (90, 90)) == -1).all()


def test_cell_sides_are_signed_normalised_distances_and_decode_back():
    centres = grid_cell_centres(2, (100, 200))
    assert centres.tolist() == [[50., 25.], [150., 25.], [50., 75.], [150., 75.]]
    boxes = torch.tensor([[10., 5., 60., 45.], [140., 10., 145., 20.]])
    sides = encode_cell_sides(boxes, centres[:2], (100, 200))
    # (t, l, b, r): (25-5)/100, (50-10)/200, (45-25)/100, (60-50)/200
    torch.testing.assert_close(sides[0], torch.tensor([0.2, 0.2, 0.2, 0.05]))
    assert sides[1, 3] < 0  # a small box beside the cell centre: one side is negative
    torch.testing.assert_close(decode_cell_sides(sides, centres[:2], (100, 200)), boxes)


# ------------------------------------------------------------------- RFF
def test_rff_formula_on_constant_features():
    from mmsgnet.models.layers import fuse_roi_features
    r1 = torch.full((2, 3, 8, 8), -1.)
    r2 = torch.full((2, 3, 4, 4), 1.5)
    r3 = torch.full((2, 3, 2, 2), 2.)
    torch.testing.assert_close(fuse_roi_features(r1, r2, r3), torch.full((2, 3, 8, 8), 2.5))
    # ReLU of Eq. 4
    assert (fuse_roi_features(r1 * 10, r2, r3) == 0).all()


def test_rff_module_shapes_and_eq4_on_tiny_features():
    from mmcv.ops import roi_align

    from mmsgnet.models.layers import RoIFeatureFusion, fuse_roi_features
    torch.manual_seed(0)
    rff = RoIFeatureFusion(in_channels=(2, 3, 4), strides=(8, 16, 32), out_channels=5,
                           roi_size=4)
    feats = [torch.randn(2, 2, 8, 8), torch.randn(2, 3, 4, 4), torch.randn(2, 4, 2, 2)]
    rois = torch.tensor([[0., 4., 4., 40., 50.], [1., 0., 0., 64., 64.], [1., 10., 20., 30., 24.]])
    out = rff(feats, rois)
    assert out.shape == (3, 5, 8, 8) and rff.roi_sizes == (8, 4, 2)
    rs = [roi_align(lat(f), rois, size, 1 / s, 0, 'avg', True)
          for f, lat, size, s in zip(feats, rff.laterals, (8, 4, 2), (8, 16, 32))]
    torch.testing.assert_close(out, fuse_roi_features(*rs))
    # Table 9 baseline: R1 alone, the other mask layers unused
    plain = RoIFeatureFusion(in_channels=(2, 3, 4), out_channels=5, roi_size=4, fuse=False)
    assert len(plain.laterals) == 1
    torch.testing.assert_close(plain(feats, rois),
                               roi_align(plain.laterals[0](feats[0]), rois, 8, 1 / 8, 0, 'avg',
                                         True))
    with pytest.raises(ValueError, match='even'):
        RoIFeatureFusion(in_channels=(2, 3, 4), roi_size=5)


# ------------------------------------------------------------------- losses
def test_mask_loss_is_weighted_one_minus_dice_eq6():
    cfg = Config.fromfile(MAIN_CONFIG)
    loss_mask = build_random_model(cfg).mask_head.loss_mask
    logits = torch.tensor([[[0., 2.], [-1., 3.]], [[1., 1.], [1., 1.]]])
    target = torch.tensor([[[0., 1.], [1., 1.]], [[0., 0.], [0., 0.]]])
    p = logits.sigmoid().flatten(1)
    g = target.flatten(1)
    dice = 2 * (p * g).sum(1) / (p.sum(1) + g.sum(1))  # Dice coefficient of Eq. 6
    expected = 5.75 * (1 - dice).mean()
    torch.testing.assert_close(loss_mask(logits, target), expected, rtol=1e-3, atol=1e-3)
    # hand numbers of the first mask: p = (0.5, 0.881, 0.269, 0.953), g = (0, 1, 1, 1)
    assert float(dice[0]) == pytest.approx(2 * 2.1023 / (2.6023 + 3), abs=1e-3)


def _train_inputs(num_items, size=(128, 160)):
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(len(num_items), [[3, *size]] * len(num_items), num_items=num_items,
                          num_classes=3, with_mask=True)


@pytest.mark.parametrize('loc', ['giou', 'distribution_focal'])
def test_train_step_gives_the_three_losses_of_eq5(loc):
    cfg = Config.fromfile(SMALL_CONFIG)
    if loc == 'distribution_focal':
        cfg.model.bbox_head.loss_loc = dict(type='DistributionFocalLoss', loss_weight=3.0)
    model = build_random_model(cfg).train()
    data = _train_inputs([3, 2])
    losses = model.train_step(data, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert set(losses) == {'loss', 'loss_cls', 'loss_loc', 'loss_mask'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())


def test_an_image_without_objects_trains_without_nan():
    cfg = Config.fromfile(SMALL_CONFIG)
    model = build_random_model(cfg).train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    for items in ([0], [0, 2]):
        losses = model.train_step(_train_inputs(items), optim)
        assert all(torch.isfinite(v) for v in losses.values())
        assert losses['loss_cls'] > 0
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_distribution_focal_sides_decode_to_the_bin_expectation():
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.bbox_head.loss_loc = dict(type='DistributionFocalLoss', loss_weight=3.0)
    head = build_random_model(cfg).bbox_head
    s, bins = head.grid_size, head.reg_max + 1
    logits = torch.full((1, 4 * bins, s, s), -30.)
    logits[:, bins - 1::bins] = 30.  # every side in the last bin: the highest side, 1
    logits[:, bins - 1] = -30.  # ... but the first side (t) of every cell in bin 0: -0.5 / S
    logits[:, 0] = 30.
    sides = head._sides(logits)
    torch.testing.assert_close(sides[0, :, 0], torch.full((s * s, ), -0.5 / s))
    torch.testing.assert_close(sides[0, :, 1:], torch.ones(s * s, 3))


def test_jitter_moves_boxes_within_the_ratio_and_input():
    from mmsgnet.models.dense_heads.fassst_mask_head import jitter_boxes
    boxes = torch.tensor([[10., 10., 50., 30.], [0., 0., 100., 80.]])
    assert torch.equal(jitter_boxes(boxes, 0.0, (80, 100)), boxes)
    torch.manual_seed(0)
    moved = jitter_boxes(boxes.repeat(50, 1), 0.1, (80, 100))
    wh = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2).repeat(50, 1)
    assert ((moved - boxes.repeat(50, 1)).abs() <= 0.1 * wh + 1e-4).all()
    assert (moved[:, 2] <= 100).all() and (moved[:, 3] <= 80).all() and (moved >= 0).all()
    assert not torch.equal(moved, boxes.repeat(50, 1))


def test_inference_keeps_at_most_n_and_suppresses_overlaps():
    cfg = Config.fromfile(SMALL_CONFIG)
    head = build_random_model(cfg).bbox_head
    s, c = head.grid_size, head.num_classes
    cls = torch.full((1, c, s, s), -5.)
    cls[0, 1] = 5.  # every cell: class 1, score ~0.99
    # all cells predict the same box: NMS keeps one; FastNMS too
    centres = grid_cell_centres(s, (128, 160))
    box = torch.tensor([[40., 30., 120., 100.]]).expand(s * s, 4)
    sides = encode_cell_sides(box, centres, (128, 160))
    bbox = sides.t().reshape(1, 4, s, s)
    meta = dict(img_shape=(128, 160), batch_input_shape=(128, 160), scale_factor=(1., 1.))
    for test_cfg in (dict(score_thr=0.1, nms=dict(type='nms', iou_threshold=0.5),
                          max_per_img=100),
                     dict(score_thr=0.1, fast_nms=dict(iou_thr=0.5, top_k=100),
                          max_per_img=100)):
        res = head.predict_by_feat(cls, bbox, [meta], cfg=test_cfg)[0]
        assert len(res) == 1 and res.labels.tolist() == [1]
        torch.testing.assert_close(res.bboxes[0], box[0])
    # without suppression, at most n = S^2 detections whatever max_per_img says
    res = head.predict_by_feat(cls, bbox, [meta], cfg=dict(score_thr=0.1, max_per_img=1000),
                               with_nms=False)[0]
    assert len(res) == s * s


def test_mask_targets_and_paste_share_one_geometry():
    """A box-local target cropped from a GT mask and pasted back into the same box gives
    the GT mask back (the training target and the inference output agree)."""
    from mmsgnet.models.utils import crop_masks_to_boxes, paste_box_masks
    gt = torch.zeros(1, 64, 80)
    gt[0, 20:44, 10:50] = 1
    box = torch.tensor([[8., 18., 52., 46.]])
    crop = crop_masks_to_boxes(gt, box, (56, 56))
    pasted = paste_box_masks(F.relu(crop), box, (64, 80), threshold=0.5)
    assert (pasted[0] == gt[0].bool()).float().mean() > 0.99


def test_every_parameter_gets_a_gradient():
    """Every backbone stage feeds E or a mask layer, so distributed training needs no
    ``find_unused_parameters`` (except the without-RFF ablation, which says so)."""
    cfg = Config.fromfile(SMALL_CONFIG)
    model = build_random_model(cfg).train()
    data = model.data_preprocessor(_train_inputs([3, 2]), True)
    loss, _ = model.parse_losses(model.loss(data['inputs'], data['data_samples']))
    loss.backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused


def test_complexity_tool_counts_the_model(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'get_model_complexity', osp.join(ROOT, 'tools', 'analysis_tools',
                                         'get_model_complexity.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'complexity.json'
    rows = tool.main([SMALL_CONFIG, '--size', '128', '160', '--json', str(out)])
    model = build_random_model(Config.fromfile(SMALL_CONFIG), init_weights=False)
    assert rows[0]['params'] == sum(p.numel() for p in model.parameters())
    assert rows[0]['input_shape'] == [128, 160] and rows[0]['flops'] > 0
    assert out.exists()
    # the small config's test Resize keeps the ratio: no fixed size, the tool says so
    with pytest.raises(SystemExit, match='--size'):
        tool.main([SMALL_CONFIG])
