"""MEInst: the mask encoding, the heads, every config end to end, the components in
checkpoints."""
import glob
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import mmsgnet  # noqa: F401
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmsgnet.datasets.synthetic import generate_coco_instance
from mmsgnet.models.layers.mask_encoding import (ComponentsFileError, decode, encode, jitter_logits,
                                                 load_components, mask_iou, save_components)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MEINST_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'meinst', '**', '*.py'),
                                  recursive=True))
SMALL_CONFIG = osp.join(ROOT, 'configs', 'meinst', 'meinst_r18_fpn_gn-head_generated-coco.py')
sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    """Generated COCO data (two seeds) and 80 components fitted on the first by the tool."""
    import mask_components
    root = tmp_path_factory.mktemp('meinst')
    train = generate_coco_instance(str(root / 'train'), num_images=150,
                                   image_size=(160, 128), seed=0)
    val = generate_coco_instance(str(root / 'val'), num_images=20, image_size=(160, 128),
                                 seed=1)
    npz = str(root / 'components_80.npz')
    assert mask_components.main([train, '--out', npz, '--num-components', '80',
                                 '--no-progress']) == 0
    return dict(train=train, val=val, npz=npz)


def build_model(cfg, npz=None, init_weights=True):
    """Model with random weights; the components (if any) from ``npz``."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model.backbone.init_cfg = None
    mask_head = cfg.model.get('mask_head')
    if mask_head is not None and mask_head.get('encoding', 'explicit') != 'none':
        mask_head.components_file = npz
    model = MODELS.build(cfg.model)
    if init_weights:
        model.init_weights()
    return model.eval()


# ------------------------------------------------------------------ encoding
def test_jitter_keeps_targets_finite_and_in_the_reference_ranges():
    masks = torch.zeros(64, 784)
    masks[:32] = 1
    gen = torch.Generator().manual_seed(0)
    logits = jitter_logits(masks, generator=gen)
    assert torch.isfinite(logits).all()
    lo, hi = np.log(0.01 / 0.99), np.log(0.05 / 0.95)  # -4.595, -2.944
    assert logits[32:].min() >= lo - 1e-4 and logits[32:].max() <= hi + 1e-4
    assert logits[:32].min() >= -hi - 1e-4 and logits[:32].max() <= -lo + 1e-4
    # r = max(0.05 U, 0.01): 20% of the pixels sit exactly at 0.01
    at_floor = (logits[32:] - lo).abs() < 1e-4
    assert 0.17 < at_floor.float().mean() < 0.23
    # fresh jitter each call, so the targets are stochastic
    assert not torch.equal(logits, jitter_logits(masks, generator=gen))


def test_encode_decode_reproduces_masks_at_60_components(generated):
    """Reconstruction IoU of generated masks (held-out seed) through the tool's fit."""
    import mask_components
    comps = load_components(generated['npz'], 60)
    packed = mask_components.collect_box_masks(generated['val'], progress=False)
    masks = torch.from_numpy(np.unpackbits(packed, axis=1, count=784).astype(np.float32))
    c, mu, var = (torch.from_numpy(comps[k]) for k in ('components', 'mean',
                                                       'explained_variance'))
    coeffs = encode(jitter_logits(masks), c, mu, var)
    assert coeffs.shape == (len(masks), 60)
    # whitening: unit variance per component on the data (and jitter) of the fit
    train = mask_components.collect_box_masks(generated['train'], progress=False)
    fitted = mask_components.fit(train, 784, 60, seed=5, progress=False)
    train = torch.from_numpy(np.unpackbits(train, axis=1, count=784).astype(np.float32))
    logits = jitter_logits(train, generator=torch.Generator().manual_seed(5))
    fc, fmu, fvar = (torch.from_numpy(np.asarray(fitted[k], np.float32))
                     for k in ('components', 'mean', 'explained_variance'))
    torch.testing.assert_close(encode(logits, fc, fmu, fvar).std(0), torch.ones(60),
                               atol=2e-3, rtol=0)
    iou = mask_iou(decode(coeffs, c, mu, var) > 0.5, masks > 0.5)
    assert iou.mean() >= 0.95, f'mean reconstruction IoU {iou.mean():.3f}'
    # the implicit path decodes to logits: sigmoid of them is the probability
    torch.testing.assert_close(decode(coeffs, c, mu, var, logits=True).sigmoid(),
                               decode(coeffs, c, mu, var))


def test_components_files_ours_and_adelaidet(tmp_path, generated):
    ours = load_components(generated['npz'])
    assert ours['components'].shape == (80, 784) and ours['mean'].shape == (784, )
    np.testing.assert_allclose(np.linalg.norm(ours['components'], axis=1), 1, atol=1e-4)
    assert (np.diff(ours['explained_variance']) <= 0).all()
    adelai = str(tmp_path / 'coco_2017_train_class_agnosticTrue_whitenTrue_sigmoidTrue_60.npz')
    np.savez(adelai, components_c=ours['components'][None, :60], mean_c=ours['mean'][None],
             explained_variance_c=ours['explained_variance'][None, :60],
             ratio_c=np.ones((1, 60), np.float32))
    loaded = load_components(adelai, 40)
    np.testing.assert_array_equal(loaded['components'], ours['components'][:40])
    # named errors: missing file (how to get one), wrong key / shape, too few components
    with pytest.raises(ComponentsFileError, match='does not exist.*mask_components.py.*ZjuCv'):
        load_components(str(tmp_path / 'nope.npz'))
    bad = str(tmp_path / 'bad.npz')
    np.savez(bad, components=ours['components'], mean=ours['mean'])
    with pytest.raises(ComponentsFileError, match="needs the keys.*found \\['components', "
                       "'mean'\\]"):
        load_components(bad)
    np.savez(bad, components_c=ours['components'], mean_c=ours['mean'][None],
             explained_variance_c=ours['explained_variance'][None])
    with pytest.raises(ComponentsFileError, match="'components_c' must have a leading class "
                       'axis of length 1'):
        load_components(bad)
    with pytest.raises(ComponentsFileError, match='holds 60 components but 80'):
        load_components(adelai, 80)
    with open(bad, 'wb') as f:
        f.write(b'PK\x03\x04 truncated')
    with pytest.raises(ComponentsFileError, match='cannot be read as .npz'):
        load_components(bad)


def test_crop_reads_fortran_ordered_masks():
    """pycocotools decodes to Fortran order; mmcv's CPU roi_align reads memory as contiguous,
    so the crop must not see the transposed layout (it returned empty targets)."""
    from mmsgnet.models.utils import crop_masks_to_boxes
    mask = np.asfortranarray(np.zeros((1, 20, 30), np.uint8))
    mask[0, 2:10, 4:12] = 1
    crop = crop_masks_to_boxes(torch.from_numpy(mask), torch.tensor([[4., 2., 12., 10.]]),
                               (4, 4))
    assert torch.equal(crop, torch.ones(1, 4, 4))


# --------------------------------------------------------------------- losses
def test_coefficient_loss_values_by_hand():
    from mmsgnet.models.dense_heads.meinst_mask_head import coefficient_loss
    pred = torch.tensor([[1., 2.], [0., 0.5]])
    target = torch.tensor([[0., 0.], [1., 0.5]])
    w = torch.tensor([0.5, 1.0])
    norm = torch.tensor(1.5)
    # l2: (0.5 * (1 + 4) + 1.0 * (1 + 0)) / (1.5 * 2) = 3.5 / 3
    assert coefficient_loss(pred, target, w, norm, 'l2').item() == pytest.approx(3.5 / 3)
    # l1: (0.5 * 3 + 1.0 * 1) / 3
    assert coefficient_loss(pred, target, w, norm, 'l1').item() == pytest.approx(2.5 / 3)
    # smooth-l1 (beta 1): |1| -> 0.5, |2| -> 1.5, |1| -> 0.5: (0.5 * 2 + 0.5) / 3
    assert coefficient_loss(pred, target, w, norm, 'smooth_l1').item() == pytest.approx(
        1.5 / 3)
    # cosine: row 0 vs 0-vector -> cos 0; row 1: cos((0, .5), (1, .5)) = .25 / (.5 sqrt 1.25)
    cos1 = 0.25 / (0.5 * np.sqrt(1.25))
    expected = (0.5 * 1 + 1.0 * (1 - cos1)) / 1.5
    assert coefficient_loss(pred, target, w, norm, 'cosine').item() == pytest.approx(
        expected, rel=1e-5)
    # AdelaiDet's normaliser max(ctr_norm * N, 1)
    small = coefficient_loss(pred, target, w, torch.tensor(0.1), 'l2').item()
    assert small == pytest.approx(3.5)


def _one_positive_setup(generated, encoding):
    """A mask head, one GT square and two positives on it with known coefficients."""
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.mask_head.encoding = encoding
    if encoding == 'none':
        cfg.model.bbox_head.num_params = 784
    head = build_model(cfg, generated['npz']).mask_head
    from mmdet.structures.mask import BitmapMasks
    mask = np.zeros((1, 64, 64), np.uint8)
    mask[0, 8:36, 8:36] = 1  # exactly its box: the 28 x 28 target is all ones
    gt = InstanceData(bboxes=torch.tensor([[8., 8., 36., 36.]]), labels=torch.tensor([0]),
                      masks=BitmapMasks(mask, 64, 64))
    num = head.num_params
    params = torch.stack([torch.zeros(num), torch.full((num, ), 0.5)])
    info = InstanceData(params=params, gt_inds=torch.tensor([0, 0]),
                        ctr_targets=torch.tensor([1.0, 0.5]))
    return head, gt, info


@pytest.mark.parametrize('encoding', ['explicit', 'implicit', 'none'])
def test_mask_head_loss_by_hand(encoding, generated):
    head, gt, info = _one_positive_setup(generated, encoding)
    torch.manual_seed(0)
    loss = head.loss_by_feat([gt], [{}], [info])['loss_mask']
    target = torch.ones(1, 784)
    if encoding != 'none':
        c, mu, var = head.components, head.mean, head.explained_variance
    if encoding == 'implicit':
        logits = decode(info.params, c, mu, var, logits=True)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, target.expand(2, -1), reduction='none').sum(1)
        expected = (info.ctr_targets * bce).sum() / (1.5 * 784)
    else:
        torch.manual_seed(0)
        tgt = jitter_logits(target.expand(2, -1))
        if encoding == 'explicit':
            tgt = encode(tgt, c, mu, var)
        sq = (info.params - tgt).pow(2).sum(1)
        expected = (info.ctr_targets * sq).sum() / (1.5 * info.params.shape[1])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize('options', [
    dict(encoding='explicit', loss_type='l2'), dict(encoding='implicit'),
    dict(encoding='none', loss_type='l2'), dict(loss_type='l1'), dict(loss_type='smooth_l1'),
    dict(loss_type='cosine')
])
def test_train_step_with_every_encoding_and_loss(options, generated):
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.mask_head.update(options)
    if options.get('encoding') == 'none':
        cfg.model.bbox_head.num_params = 784
    model = build_model(cfg, generated['npz']).train()
    data = demo_mm_inputs(2, [[3, 128, 160], [3, 96, 128]], num_classes=3, with_mask=True)
    params = [p.detach().clone() for p in model.bbox_head.conv_mask.parameters()]
    losses = model.train_step(data, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert {'loss_cls', 'loss_bbox', 'loss_centerness', 'loss_mask'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_mask'] > 0
    # the coefficient predictor learns from the mask loss; the components stay frozen
    assert any(not torch.equal(a, b)
               for a, b in zip(params, model.bbox_head.conv_mask.parameters()))
    if options.get('encoding') != 'none':
        torch.testing.assert_close(model.mask_head.components,
                                   torch.from_numpy(load_components(generated['npz'],
                                                                    60)['components']))
        assert not any(n.startswith('mask_head') for n, _ in model.named_parameters())


# ------------------------------------------------------------------ inference
def test_sqrt_score_is_exact_before_nms():
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.mask_head.encoding = 'none'
    cfg.model.bbox_head.num_params = 784
    head = build_model(cfg).bbox_head
    boxes = torch.tensor([[0., 0., 40., 40.], [2., 2., 42., 42.], [60., 60., 90., 90.]])
    results = InstanceData(bboxes=boxes, scores=torch.tensor([0.9, 0.64, 0.3]),
                           labels=torch.tensor([0, 0, 1]),
                           score_factors=torch.tensor([0.1, 1.0, 0.27]))
    test_cfg = ConfigDict(head.test_cfg)
    out = head._bbox_post_process(results, test_cfg, with_nms=True)
    # sqrt(0.9 * 0.1) = 0.3 < sqrt(0.64) = 0.8: the second box wins the NMS (the plain
    # product would rank them 0.09 < 0.64 too, but the kept score must be the sqrt)
    assert out.scores.tolist() == pytest.approx([0.8, np.sqrt(0.3 * 0.27)], rel=1e-5)
    assert out.labels.tolist() == [0, 1]
    assert Config.fromfile(SMALL_CONFIG).model.test_cfg.nms.iou_threshold == 0.6


def test_meinst_head_options_build_the_paper_layers():
    from mmcv.ops import DeformConv2dPack

    from mmsgnet.models.dense_heads import LargeKernelBlock
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.bbox_head.update(deform_last_conv=True, mask_predictor='large_kernel')
    cfg.model.mask_head.encoding = 'none'
    cfg.model.bbox_head.num_params = 784
    head = build_model(cfg).bbox_head
    for tower in (head.cls_convs, head.reg_convs, head.mask_convs):
        assert [isinstance(m.conv, DeformConv2dPack) for m in tower] == [False, True]
    assert isinstance(head.conv_mask, LargeKernelBlock)
    assert head.conv_mask.path_a[0].kernel_size == (9, 1)
    assert head.conv_mask.path_b[0].kernel_size == (1, 9)
    out = head.predict_coeffs(torch.randn(1, 64, 10, 12))
    assert out.shape == (1, 784, 10, 12)


def test_mismatched_coefficient_count_is_a_named_error(generated):
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.model.bbox_head.num_params = 40
    with pytest.raises(ValueError, match='predicts 40 coefficients.*decodes 60.*num_params=60'):
        build_model(cfg, generated['npz'])


# -------------------------------------------------------------------- configs
def test_all_paper_variants_have_a_config():
    names = {osp.basename(p) for p in MEINST_CONFIGS}
    for expected in ('meinst_r50-caffe_fpn_gn-head-dcn_1x_coco.py',
                     'meinst_r50-caffe_fpn_gn-head_1x_coco.py',
                     'meinst_r50-caffe_fpn_gn-head-dcn_ms-3x_coco.py',
                     'meinst_r50-caffe_fpn_gn-head-dcn_ms-3x-512_coco.py',
                     'meinst_r18_fpn_gn-head_generated-coco.py'):
        assert expected in names
    for arch in ('r101-caffe', 'x101-32x8d'):
        for dcn in ('', '-dcn'):
            for sched in ('1x', 'ms-3x'):
                assert f'meinst_{arch}_fpn_gn-head{dcn}_{sched}_coco.py' in names
    counts = {t: sum(f'_{t}-' in n for n in names) for t in ('t2', 't3', 't4', 't5', 't6', 't7')}
    assert counts == dict(t2=4, t3=3, t4=4, t5=3, t6=2, t7=3)


def _predict_image(cfg, model, tmp_path):
    rng = np.random.default_rng(0)
    img = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    cv2.rectangle(img, (30, 30), (90, 100), (0, 200, 0), -1)
    path = str(tmp_path / 'img.jpg')
    cv2.imwrite(path, img)
    transforms = [t for t in cfg.test_dataloader.dataset.pipeline
                  if t['type'] != 'LoadAnnotations']
    # keep the CPU test fast: 512x384 network input (P7 at least 3x4: mmcv's DeformConv2dPack
    # fails on maps smaller than its 3x3 kernel)
    for t in transforms:
        if t['type'] == 'Resize':
            t['scale'] = (512, 384)
    data = pseudo_collate([Compose(transforms)(dict(img_path=path, img_id=0))])
    with torch.no_grad():
        return model.test_step(data)[0].pred_instances


@pytest.mark.parametrize('config', MEINST_CONFIGS, ids=osp.basename)
def test_config_builds_and_predicts_an_image(config, tmp_path, generated):
    cfg = Config.fromfile(config)
    model = build_model(cfg, generated['npz'], init_weights=False)
    # a low threshold so that random weights still produce detections
    model.bbox_head.test_cfg['score_thr'] = 0.0
    result = _predict_image(cfg, model, tmp_path)
    assert 0 < len(result) <= cfg.model.test_cfg.max_per_img
    assert result.bboxes.shape == (len(result), 4)
    assert (result.labels < cfg.model.bbox_head.num_classes).all()
    if cfg.model.get('mask_head') is None:  # Table 6: FCOS without the mask branch
        assert cfg.model.type == 'FCOS' and 'masks' not in result
        return
    assert result.masks.dtype == torch.bool
    assert result.masks.shape[1:] == (120, 160)
    assert cfg.model.bbox_head.num_params == model.mask_head.num_params


def test_checkpoint_keeps_the_components(tmp_path, generated):
    """Components travel in checkpoints: a model built without the file predicts the same."""
    from mmengine.runner import load_checkpoint, save_checkpoint
    cfg = Config.fromfile(SMALL_CONFIG)
    model = build_model(cfg, generated['npz'])
    assert {'mask_head.components', 'mask_head.mean',
            'mask_head.explained_variance'} <= set(model.state_dict())
    ckpt = str(tmp_path / 'meinst.pth')
    save_checkpoint(model.state_dict(), ckpt)
    fresh = build_model(Config.fromfile(SMALL_CONFIG), None)  # components_file=None
    with pytest.raises(ComponentsFileError, match='no mask components.*components_file'):
        _predict_image(cfg, fresh, tmp_path)
    load_checkpoint(fresh, ckpt, map_location='cpu', strict=True)
    for name in ('components', 'mean', 'explained_variance'):
        torch.testing.assert_close(getattr(fresh.mask_head, name),
                                   getattr(model.mask_head, name))
    model.bbox_head.test_cfg['score_thr'] = fresh.bbox_head.test_cfg['score_thr'] = 0.0
    a, b = _predict_image(cfg, model, tmp_path), _predict_image(cfg, fresh, tmp_path)
    assert len(a) > 0 and torch.equal(a.masks, b.masks)
    # a missing file named in the config is a named error saying how to get one
    cfg = Config.fromfile(SMALL_CONFIG)
    with pytest.raises(ComponentsFileError, match='does not exist.*mask_components.py'):
        build_model(cfg, str(tmp_path / 'missing.npz'))
    # a file with other mask sizes is refused
    comps = load_components(generated['npz'])
    small = str(tmp_path / 'small.npz')
    save_components(small, comps['components'][:, :196], comps['mean'][:196],
                    comps['explained_variance'])
    with pytest.raises(ComponentsFileError, match='196-pixel masks but mask_size=28'):
        build_model(Config.fromfile(SMALL_CONFIG), small)
