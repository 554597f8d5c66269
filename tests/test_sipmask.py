"""SipMask: layers, every config end to end, the checkpoint converter."""
import glob
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

import mmsgnet  # noqa: F401
from mmdet.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SIPMASK_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'sipmask', '**', '*.py'),
                                   recursive=True))
SMALL_CONFIG = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')
sys.path.insert(0, osp.join(ROOT, 'tools', 'model_converters'))


def build_random_model(cfg, init_weights=False):
    """Model with random weights (PyTorch's default init, or the model's own init)."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    if init_weights:
        model.init_weights()
    return model.eval()


def test_feature_align_with_zero_offsets_is_a_plain_3x3_conv():
    from mmsgnet.models.layers import FeatureAlign
    align = FeatureAlign(8, 8, deform_groups=4, norm_cfg=None)
    x = torch.randn(2, 8, 9, 11)
    box = torch.rand(2, 4, 9, 11) * 5
    expected = F.relu(F.conv2d(x, align.conv_adaption.weight, padding=1))
    torch.testing.assert_close(align(x, box), expected, rtol=1e-4, atol=1e-5)
    # the offsets are a function of the box regression once trained
    torch.nn.init.normal_(align.conv_offset.weight, std=0.5)
    assert not torch.allclose(align(x, box), expected)


def test_fast_nms_class_agnostic_keeps_one_class_per_object():
    """FastNMS is class by class (authors); ``class_agnostic=True`` lets an object detected
    as two classes keep only its best class, with the params and location of that detection."""
    from mmengine.config import ConfigDict
    cfg = Config.fromfile(SMALL_CONFIG)
    head = build_random_model(cfg).bbox_head
    boxes = torch.tensor([[0., 0., 40., 40.], [1., 1., 41., 41.], [60., 60., 90., 90.]])
    scores = torch.tensor([[0.9, 0.0, 0.8], [0.0, 0.7, 0.0], [0.0, 0.0, 0.6]])
    params = torch.arange(3.)[:, None].repeat(1, head.num_params)
    locs = torch.tensor([[20., 20., 8., 8.], [21., 21., 8., 8.], [75., 75., 16., 16.]])
    test_cfg = dict(score_thr=0.1, max_per_img=10, fast_nms=dict(iou_thr=0.5, top_k=10))
    per_class = head._fast_nms(boxes, scores, params, locs, ConfigDict(test_cfg))
    assert sorted(zip(per_class.labels.tolist(), per_class.params[:, 0].tolist())) == [
        (0, 0.), (1, 1.), (2, 0.), (2, 2.)]
    test_cfg['fast_nms']['class_agnostic'] = True
    agnostic = head._fast_nms(boxes, scores, params, locs, ConfigDict(test_cfg))
    assert sorted(zip(agnostic.labels.tolist(), agnostic.params[:, 0].tolist(),
                      agnostic.scores.tolist())) == [(0, 0., pytest.approx(0.9)),
                                                     (2, 2., pytest.approx(0.6))]
    assert agnostic.priors.tolist() == [[20., 20., 8., 8.], [75., 75., 16., 16.]]


def test_all_paper_configs_exist():
    names = {osp.basename(p) for p in SIPMASK_CONFIGS}
    for expected in ('sipmask_r50-caffe_fpn_gn-head_1x_coco.py',
                     'sipmask_r50-caffe_fpn_gn-head_ms-2x_coco.py',
                     'sipmask_r101-caffe_fpn_gn-head_ms-4x_coco.py',
                     'sipmask-rt_r50-caffe_fpn_6x_coco.py',
                     'sipmask-rt_r101-caffe_fpn_6x_coco.py',
                     'sipmask-rt_r50-caffe_fpn_gn-head_10x_coco.py',
                     'sipmask-rt_r101-caffe_fpn_gn-head_10x_coco.py',
                     'sipmask++_r101-caffe-dcn_fpn_6x_coco.py',
                     'sipmask++_r101-caffe-dcn_fpn_gn-head_10x_coco.py'):
        assert expected in names
    assert sum('_t2-' in n for n in names) == 4
    assert sum('_t4-grid' in n for n in names) == 6
    assert sum('_t5-weight' in n for n in names) == 4


@pytest.mark.parametrize('name, align, grid, levels', [
    ('t2-baseline', False, (1, 1), 1),  # YOLACT-like: no SP module at all
    ('t2-sp', True, (2, 2), 1),  # + SP: feature alignment and 2x2 spatial coefficients
    ('t2-sp-cbm', True, (2, 2), 3),  # + contextual basis masks (P3-P5)
    ('t2-sp-cbm-wl', True, (2, 2), 3),
])
def test_table2_ablation_models_switch_both_halves_of_the_sp_module(name, align, grid, levels):
    """SipMask Table 2: the baseline has neither half of the SP module (Sec. 3.1: feature
    alignment + spatial coefficients); "+SP" adds both."""
    config = osp.join(ROOT, 'configs', 'sipmask', 'ablations',
                      f'sipmask_r50-caffe_fpn_gn-head_1x_coco_{name}.py')
    model = build_random_model(Config.fromfile(config))
    head = model.bbox_head
    assert head.feature_align is align and hasattr(head, 'align') is align
    # without alignment the classification tower keeps all its plain convs (YOLACT-like)
    assert len(head.cls_convs) == head.stacked_convs - int(align)
    assert head.grid_size == grid and model.mask_head.blender.grid == grid
    assert model.mask_head.num_levels == levels == head.mask_feat_levels


@pytest.mark.parametrize('config', SIPMASK_CONFIGS, ids=osp.basename)
def test_config_builds_and_predicts_an_image(config, tmp_path):
    cfg = Config.fromfile(config)
    model = build_random_model(cfg)
    rng = np.random.default_rng(0)
    img = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    cv2.rectangle(img, (30, 30), (90, 100), (0, 200, 0), -1)
    path = str(tmp_path / 'img.jpg')
    cv2.imwrite(path, img)
    transforms = [t for t in cfg.test_dataloader.dataset.pipeline
                  if t['type'] != 'LoadAnnotations']
    for t in transforms:  # keep the CPU test fast: at most 320x256 network input
        if t['type'] == 'Resize':
            t['scale'] = (320, 256)
    pipeline = Compose(transforms)
    data = pseudo_collate([pipeline(dict(img_path=path, img_id=0))])
    # a low threshold so that random weights still produce detections and masks
    model.bbox_head.test_cfg['score_thr'] = 0.0
    with torch.no_grad():
        result = model.test_step(data)[0].pred_instances
    assert len(result) > 0
    assert result.masks.dtype == torch.bool
    assert result.masks.shape[1:] == (120, 160)
    assert result.bboxes.shape == (len(result), 4)
    assert (result.labels < cfg.model.bbox_head.num_classes).all()
    if cfg.model.mask_head.get('rescoring'):
        assert 'mask_scores' in result
    assert len(result) <= cfg.model.test_cfg.max_per_img


def test_rescoring_head_trains_through_train_step():
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.mask_head.rescoring = dict(num_classes=3, min_gt_area=1)
    model = build_random_model(cfg, init_weights=True).train()
    from mmdet.testing import demo_mm_inputs
    data = demo_mm_inputs(2, [[3, 128, 160], [3, 96, 128]], num_classes=3, with_mask=True)
    optim = torch.optim.SGD(model.parameters(), lr=0.0)
    from mmengine.optim import OptimWrapper
    losses = model.train_step(data, OptimWrapper(optim))
    assert {'loss_cls', 'loss_bbox', 'loss_centerness', 'loss_mask',
            'loss_mask_score'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())


# ---------------------------------------------------------------- converter
def _authors_state_dict(model, stacked_convs, rescoring=False, dcn_blocks=()):
    """A state dict with the key names of the authors' SipMask-mmdetection (mmdet v1.x)."""
    own = model.state_dict()
    sd = {k: v.clone() for k, v in own.items() if k.startswith(('backbone.', 'neck.'))}
    for name in dcn_blocks:  # mmdet v1 DCN blocks: conv2 + a separate conv2_offset
        for p in ('weight', 'bias'):
            sd[f'backbone.{name}.conv2_offset.{p}'] = sd.pop(
                f'backbone.{name}.conv2.conv_offset.{p}')
    head = {}
    for p in ('weight', 'bias'):  # towers: conv bias only without GN (bias=norm_cfg is None)
        for i in range(stacked_convs - 1):
            if f'bbox_head.cls_convs.{i}.conv.{p}' in own:
                head[f'cls_convs.{i}.conv.{p}'] = own[f'bbox_head.cls_convs.{i}.conv.{p}']
        for i in range(stacked_convs):
            if f'bbox_head.reg_convs.{i}.conv.{p}' in own:
                head[f'reg_convs.{i}.conv.{p}'] = own[f'bbox_head.reg_convs.{i}.conv.{p}']
    for authors, ours in (('fcos_cls', 'conv_cls'), ('fcos_reg', 'conv_reg'),
                          ('fcos_centerness', 'conv_centerness'), ('sip_cof', 'conv_coeff')):
        for p in ('weight', 'bias'):
            head[f'{authors}.{p}'] = own[f'bbox_head.{ours}.{p}']
    for i in range(5):
        head[f'scales.{i}.scale'] = own[f'bbox_head.scales.{i}.scale']
    head['feat_align.conv_offset.weight'] = own['bbox_head.align.conv_offset.weight']
    head['feat_align.conv_adaption.weight'] = own['bbox_head.align.conv_adaption.weight']
    for p in ('weight', 'bias'):
        head[f'sip_mask_lat0.{p}'] = own[f'mask_head.fuse.{p}']
        head[f'sip_mask_lat.{p}'] = own[f'mask_head.basis.{p}']
    gn = [k for k in own if k.startswith('bbox_head.') and ('.gn.' in k or '.norm.' in k)]
    for k in gn:
        head[k[len('bbox_head.'):].replace('align.', 'feat_align.')] = own[k]
    if rescoring:
        for i in range(6):
            for p in ('weight', 'bias'):
                head[f'convs_scoring.{i}.conv.{p}'] = own[f'mask_head.rescoring.convs.{2 * i}.{p}']
        for p in ('weight', 'bias'):
            head[f'mask_scoring.{p}'] = own[f'mask_head.rescoring.conv_iou.{p}']
    sd.update({f'bbox_head.{k}': torch.randn_like(v) for k, v in head.items()})
    return sd


@pytest.mark.parametrize('config,rescoring', [
    ('sipmask_r50-caffe_fpn_gn-head_1x_coco.py', False),
    ('sipmask++_r101-caffe-dcn_fpn_6x_coco.py', True),
])
def test_converter_maps_authors_keys_onto_the_model(config, rescoring, tmp_path):
    from sipmask_to_mmsgnet import convert_state_dict
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sipmask', config))
    model = build_random_model(cfg)
    dcn_blocks = [n[len('backbone.'):-len('.conv2.conv_offset.weight')]
                  for n in model.state_dict() if n.endswith('conv2.conv_offset.weight')]
    authors = _authors_state_dict(model, cfg.model.bbox_head.stacked_convs, rescoring,
                                  dcn_blocks)
    authors['bbox_head.fovea_track.weight'] = torch.zeros(1)  # video-only layer: reported
    conv = convert_state_dict(authors)
    assert conv.dropped == ['bbox_head.fovea_track.weight'] and conv.unmatched == []
    result = model.load_state_dict(conv.converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    torch.testing.assert_close(model.bbox_head.conv_coeff.weight,
                               authors['bbox_head.sip_cof.weight'])

    # the CLI: writes the file and reports against the config
    src, dst = tmp_path / 'authors.pth', tmp_path / 'ours.pth'
    torch.save({'state_dict': authors, 'meta': {'epoch': 12}}, src)
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'model_converters', 'sipmask_to_mmsgnet.py'),
         str(src), str(dst), '--config', osp.join(ROOT, 'configs', 'sipmask', config)],
        capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'dropped (known, not in this model): bbox_head.fovea_track.weight' in proc.stdout
    assert '0 missing, 0 unexpected, 0 shape mismatches' in proc.stdout
    assert set(torch.load(dst)['state_dict']) == set(model.state_dict())


# ------------------------------------------------------- head consistency
def _small_cfg(bbox=None, mask=None, drop_mask_keys=()):
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.bbox_head.update(bbox or {})
    cfg.model.mask_head.update(mask or {})
    for key in drop_mask_keys:
        cfg.model.mask_head.pop(key)
    return cfg


@pytest.mark.parametrize('bbox, mask, keys', [
    # a 2x2 bbox head with a 1x1 mask head would read the top-left coefficients only
    (dict(grid_size=2), dict(grid_size=1), ('bbox_head.grid_size', 'mask_head.grid_size')),
    (dict(grid_size=(1, 2)), dict(grid_size=(2, 1)),
     ('bbox_head.grid_size', 'mask_head.grid_size')),
    (dict(num_bases=16), dict(num_bases=32), ('bbox_head.num_bases', 'mask_head.num_bases')),
    (dict(mask_feat_levels=1), dict(num_levels=3),
     ('bbox_head.mask_feat_levels', 'mask_head.num_levels')),
    # basis masks upsampled x4 from P3 (stride 8) are at stride 2, not 4
    (dict(), dict(base_stride=4, upsample_factor=4),
     ('mask_head.base_stride', 'mask_head.upsample_factor', 'bbox_head.strides[0]')),
])
def test_sipmask_refuses_disagreeing_heads_at_build_time(bbox, mask, keys):
    cfg = _small_cfg(bbox, mask)
    with pytest.raises(ValueError) as err:
        build_random_model(cfg)
    assert all(f'model.{key}' in str(err.value) for key in keys), str(err.value)


def test_sipmask_vis_refuses_disagreeing_heads_at_build_time():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sipmask_vis',
                                   'sipmask-vis_r18_fpn_generated-ytvis.py'))
    cfg.model.detector.bbox_head.grid_size = 2
    cfg.model.detector.mask_head.grid_size = 1
    init_default_scope('mmdet')
    with pytest.raises(ValueError, match=r'model.bbox_head.grid_size=\(2, 2\) and '
                                         r'model.mask_head.grid_size=\(1, 1\) disagree'):
        MODELS.build(cfg.model)


def test_sipmask_derives_mask_head_settings_from_the_bbox_head():
    """What the mask head does not set comes from the bbox head: the grid and m, and the
    basis stride from P3's stride and the mask head's upsampling."""
    cfg = _small_cfg(dict(grid_size=(1, 3), num_bases=8), dict(upsample_factor=2),
                     drop_mask_keys=('grid_size', 'num_bases'))
    model = build_random_model(cfg)
    assert model.mask_head.blender.grid == (1, 3) and model.mask_head.num_bases == 8
    assert model.mask_head.blender.base_stride == 4  # P3 stride 8 / upsample 2
    img = torch.rand(1, 3, 128, 160) * 255
    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(img_shape=(128, 160), ori_shape=(128, 160),
                                         scale_factor=(1., 1.), pad_shape=(128, 160),
                                         batch_input_shape=(128, 160)))
    model.bbox_head.test_cfg['score_thr'] = 0.0
    with torch.no_grad():
        result = model.predict(img, [sample])[0].pred_instances
    assert len(result) > 0 and result.masks.shape[1:] == (128, 160)


# ------------------------------------------------------------- FastNMS path
def test_fast_nms_honours_rescale_and_min_bbox_size():
    """The FastNMS path post-processes as mmdet's standard one: ``rescale`` gives boxes in
    original-image pixels, ``min_bbox_size`` drops boxes not larger than it."""
    from mmdet.structures import DetDataSample
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.test_cfg = dict(nms_pre=200, score_thr=0.0, min_bbox_size=-1,
                              fast_nms=dict(iou_thr=0.5, top_k=200), max_per_img=50,
                              mask_thr_binary=0.5)
    torch.manual_seed(0)
    model = build_random_model(cfg)
    sample = DetDataSample(metainfo=dict(img_shape=(128, 160), ori_shape=(64, 80),
                                         scale_factor=(2.0, 2.0)))
    with torch.no_grad():
        x = model.extract_feat(torch.rand(1, 3, 128, 160) * 255)

        def predict(rescale):
            return model.bbox_head.predict(x, [sample], rescale=rescale)[0]

        on_input = predict(rescale=False)
        on_original = predict(rescale=True)
        assert len(on_input) > 10
        torch.testing.assert_close(on_original.bboxes * 2, on_input.bboxes)
        torch.testing.assert_close(on_original.scores, on_input.scores)
        sides = torch.minimum(on_input.bboxes[:, 2] - on_input.bboxes[:, 0],
                              on_input.bboxes[:, 3] - on_input.bboxes[:, 1])
        min_size = sides.median().item()
        model.bbox_head.test_cfg['min_bbox_size'] = min_size
        large = predict(rescale=False)
        assert len(large) > 0
        assert (large.bboxes[:, 2:] - large.bboxes[:, :2] > min_size).all()
        model.bbox_head.test_cfg['min_bbox_size'] = 1e4  # nothing is that large
        none = predict(rescale=False)
        assert len(none) == 0 and none.params.shape == (0, model.bbox_head.num_params)
