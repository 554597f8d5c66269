"""The project's deformable conv (:class:`DeformConv2dFast`): the PyTorch path equals mmcv's
op (outputs and gradients), the ``DCNFast`` pack equals mmcv's ``DCN``, checkpoints move
between implementations (layer, ResNet-DCN backbone, a whole SipMask model), and the same
checks on CUDA against mmcv's CUDA op when a GPU is present."""
import os.path as osp
import zlib

import pytest
import torch
from mmcv.ops import DeformConv2d, DeformConv2dPack

import mmsgnet  # noqa: F401
from mmsgnet.models.layers import DeformConv2dFast, DeformConv2dFastPack, deform_conv2d_torch
from mmsgnet.models.layers.deform_conv import DeformConvUnsupportedError

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMALL_SIPMASK = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')
TOL = dict(atol=1e-4, rtol=1e-4)

# (id, batch, in, out, H, W, stride, padding, dilation, deform_groups, offsets)
CASES = [
    ('g1-s1-random', 2, 8, 6, 9, 11, 1, 1, 1, 1, 'random'),
    ('g4-s1-random', 1, 16, 8, 10, 13, 1, 1, 1, 4, 'random'),
    ('g4-s2-odd', 2, 16, 8, 11, 9, 2, 1, 1, 4, 'random'),
    ('g1-s2-large', 1, 8, 4, 12, 10, 2, 1, 1, 1, 'large'),
    ('g4-s1-zero', 1, 8, 8, 7, 9, 1, 1, 1, 4, 'zero'),
    ('g4-s1-outside', 2, 8, 4, 9, 7, 1, 1, 1, 4, 'outside'),
    ('g1-s1-border', 1, 4, 4, 6, 8, 1, 1, 1, 1, 'border'),
    ('g2-dilation2', 1, 8, 6, 13, 11, 1, 2, 2, 2, 'random'),
    ('g4-s2-dilation2-pad0', 1, 8, 5, 15, 14, 2, 0, 2, 4, 'large'),
    ('g1-1xN', 1, 4, 3, 1, 9, 1, 1, 1, 1, 'random'),
]


def _out_size(size, stride, pad, dilation):
    return (size + 2 * pad - 2 * dilation - 1) // stride + 1


def make_offsets(kind, batch, groups, ho, wo, h, w, gen):
    shape = (batch, groups * 18, ho, wo)
    if kind == 'zero':  # the alignment's initial state: every point on an integer position
        return torch.zeros(shape)
    if kind == 'random':
        return 0.7 * torch.randn(shape, generator=gen)
    if kind == 'large':
        return 4.0 * torch.randn(shape, generator=gen)
    if kind == 'border':  # many points in the bands (-1, 0) and (H - 1, H) of the border
        return 3.0 * torch.rand(shape, generator=gen) - 1.5
    # 'outside': most points beyond the map on one side or the other
    sign = torch.randint(0, 2, shape, generator=gen) * 2 - 1
    return sign * (max(h, w) * (0.5 + torch.rand(shape, generator=gen)))


def _pair_of_layers(cin, cout, stride, padding, dilation, groups, device='cpu', **kwargs):
    ours = DeformConv2dFast(cin, cout, 3, stride=stride, padding=padding, dilation=dilation,
                            deform_groups=groups, impl='torch', **kwargs).to(device)
    ref = DeformConv2d(cin, cout, 3, stride=stride, padding=padding, dilation=dilation,
                       deform_groups=groups).to(device)
    ref.weight.data.copy_(ours.weight.data)
    return ours, ref


def _compare(case, device='cpu', bias=False):
    _, b, cin, cout, h, w, s, p, d, g, kind = case
    gen = torch.Generator().manual_seed(zlib.crc32(case[0].encode()))
    ho, wo = _out_size(h, s, p, d), _out_size(w, s, p, d)
    x = torch.randn(b, cin, h, w, generator=gen).to(device).requires_grad_()
    offset = make_offsets(kind, b, g, ho, wo, h, w, gen).to(device).requires_grad_()
    ours, ref = _pair_of_layers(cin, cout, s, p, d, g, device, bias=bias)
    if bias:
        ours.bias.data.normal_(generator=None)
    out = ours(x, offset)
    expected = ref(x, offset)
    if bias:
        expected = expected + ours.bias.view(1, -1, 1, 1)
    assert out.shape == expected.shape == (b, cout, ho, wo)
    torch.testing.assert_close(out, expected, **TOL)
    grad = torch.randn(out.shape, generator=gen).to(device)
    params = (x, offset, ours.weight) + ((ours.bias, ) if bias else ())
    got = torch.autograd.grad(out, params, grad)
    want = torch.autograd.grad(expected, (x, offset, ref.weight) + params[3:], grad)
    for name, a, e in zip(('input', 'offset', 'weight', 'bias'), got, want):
        torch.testing.assert_close(a, e, **TOL, msg=lambda m: f'{name} gradient: {m}')
    return out


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_torch_path_equals_mmcv_outputs_and_gradients(case):
    out = _compare(case)
    assert out.abs().max() > 0  # not trivially zero


def test_bias_and_memory_chunking(monkeypatch):
    import mmsgnet.models.layers.deform_conv as dc
    _compare(CASES[2], bias=True)
    # chunks of one output row (recomputed in the backward) give the same values and grads
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 9, 10, generator=gen, requires_grad=True)
    offset = (2 * torch.randn(2, 36, 9, 10, generator=gen)).requires_grad_()
    weight = torch.randn(4, 8, 3, 3, generator=gen, requires_grad=True)
    whole = deform_conv2d_torch(x, offset, weight, 1, 1, 1, 1, 2)
    rows = deform_conv2d_torch(x, offset, weight, 1, 1, 1, 1, 2, chunk_elems=2 * 8 * 9 * 10)
    torch.testing.assert_close(rows, whole)
    # blocks of 2 rows in one chunk (the cache blocking), without recomputation
    monkeypatch.setattr(dc, 'CACHE_ELEMS', 2 * 2 * 8 * 9 * 10)
    blocks = deform_conv2d_torch(x, offset, weight, 1, 1, 1, 1, 2)
    torch.testing.assert_close(blocks, whole)
    g = torch.randn(whole.shape, generator=gen)
    for out in (rows, blocks):
        for a, b in zip(torch.autograd.grad(out, (x, offset, weight), g, retain_graph=True),
                        torch.autograd.grad(whole, (x, offset, weight), g, retain_graph=True)):
            torch.testing.assert_close(a, b)


def test_impl_choice_and_named_errors():
    layer = DeformConv2dFast(8, 8, 3, padding=1, deform_groups=2)
    assert layer.impl == 'auto'
    x, offset = torch.randn(1, 8, 6, 6), torch.randn(1, 36, 6, 6)
    torch.testing.assert_close(layer(x, offset),
                               DeformConv2d.forward(layer, x, offset), **TOL)
    with pytest.raises(ValueError, match="one of \\('auto', 'mmcv', 'torch'\\)"):
        DeformConv2dFast(8, 8, 3, impl='cuda')
    with pytest.raises(DeformConvUnsupportedError, match='groups=1 only'):
        DeformConv2dFast(8, 8, 3, groups=2, impl='torch')
    grouped = DeformConv2dFast(8, 8, 3, padding=1, groups=2, deform_groups=2)  # auto -> mmcv
    ref = DeformConv2d(8, 8, 3, padding=1, groups=2, deform_groups=2)
    ref.load_state_dict(grouped.state_dict())
    torch.testing.assert_close(grouped(x, offset), ref(x, offset))
    with pytest.raises(ValueError, match='offset must have shape'):
        layer.impl = 'torch'
        layer(x, offset[:, :18])


def test_environment_overrides_what_auto_resolves_to(monkeypatch):
    from mmsgnet.models.layers import deform_conv
    calls = []
    monkeypatch.setattr(deform_conv, 'deform_conv2d_torch',
                        lambda *args, **kwargs: calls.append('torch') or torch.zeros(1))
    layer = DeformConv2dFast(8, 8, 3, padding=1)
    x, offset = torch.randn(1, 8, 6, 6), torch.randn(1, 18, 6, 6)
    monkeypatch.setenv('MMSGNET_DEFORM_IMPL', 'mmcv')
    torch.testing.assert_close(layer(x, offset), DeformConv2d.forward(layer, x, offset))
    assert calls == []  # mmcv's op ran
    monkeypatch.setenv('MMSGNET_DEFORM_IMPL', 'torch')
    layer(x, offset)
    assert calls == ['torch']
    layer.impl = 'mmcv'  # an explicit impl wins
    torch.testing.assert_close(layer(x, offset), DeformConv2d.forward(layer, x, offset))
    assert calls == ['torch']
    monkeypatch.setenv('MMSGNET_DEFORM_IMPL', 'cuda')
    layer.impl = 'auto'
    with pytest.raises(ValueError, match="MMSGNET_DEFORM_IMPL must be 'mmcv' or 'torch'"):
        layer(x, offset)


def test_state_dict_is_mmcvs_and_loads_across_impls():
    ours, ref = _pair_of_layers(8, 4, 1, 1, 1, 2)
    assert list(ours.state_dict()) == list(ref.state_dict()) == ['weight']
    other = DeformConv2dFast(8, 4, 3, padding=1, deform_groups=2, impl='mmcv')
    other.load_state_dict(ours.state_dict())
    x, offset = torch.randn(1, 8, 5, 5), torch.randn(1, 36, 5, 5)
    torch.testing.assert_close(other(x, offset), ours(x, offset), **TOL)


def test_pack_equals_mmcv_dcn_and_builds_as_dcnfast():
    from mmcv.cnn import build_conv_layer
    ours = build_conv_layer(dict(type='DCNFast', deform_groups=2, impl='torch'), 8, 6, 3,
                            stride=2, padding=2, dilation=2, bias=False)
    assert isinstance(ours, DeformConv2dFastPack) and ours.impl == 'torch'
    ref = DeformConv2dPack(8, 6, 3, stride=2, padding=2, dilation=2, deform_groups=2)
    assert list(ours.state_dict()) == list(ref.state_dict())
    torch.nn.init.normal_(ours.conv_offset.weight, std=0.3)  # non-trivial offsets
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 8, 13, 11, requires_grad=True)
    out, expected = ours(x), ref(x)
    torch.testing.assert_close(out, expected, **TOL)
    g = torch.randn_like(out)
    names = [n for n, _ in ours.named_parameters()]
    got = torch.autograd.grad(out, [x] + [p for _, p in ours.named_parameters()], g)
    want = torch.autograd.grad(expected, [x] + [dict(ref.named_parameters())[n] for n in names],
                               g)
    for name, a, e in zip(['input'] + names, got, want):
        torch.testing.assert_close(a, e, **TOL, msg=lambda m: f'{name}: {m}')


def test_resnet_dcn_backbone_loads_an_mmcv_dcn_checkpoint():
    """SipMask++'s backbone (ResNetIntervalDCN with ``DCNFast``) takes the weights of the same
    backbone built with mmcv's ``DCN`` and computes the same features."""
    from mmdet.registry import MODELS
    cfg = dict(type='ResNetIntervalDCN', depth=50, dcn_interval=3, num_stages=4,
               out_indices=(1, 2, 3), frozen_stages=-1, norm_eval=False,
               stage_with_dcn=(False, True, True, True), init_cfg=None)
    fast = MODELS.build(dict(cfg, dcn=dict(type='DCNFast', deform_groups=1,
                                           fallback_on_stride=False)))
    mmcv_dcn = MODELS.build(dict(cfg, dcn=dict(type='DCN', deform_groups=1,
                                               fallback_on_stride=False)))
    fast.eval()  # (mmdet's ResNet.train returns None)
    mmcv_dcn.eval()
    dcns = [m for m in fast.modules() if isinstance(m, DeformConv2dFastPack)]
    assert len(dcns) == 2 + 2 + 1  # blocks 0 and 3 of stage 2, 0 and 3 of stage 3, 0 of 4
    for m in mmcv_dcn.modules():
        if isinstance(m, DeformConv2dPack):
            torch.nn.init.normal_(m.conv_offset.weight, std=0.01)
    fast.load_state_dict(mmcv_dcn.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(fast(x), mmcv_dcn(x)):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-3)


def test_sipmask_checkpoint_trained_with_mmcv_predicts_the_same_with_torch(tmp_path):
    """A SipMask model trained (one SGD step) with ``deform_impl='mmcv'``, saved, and loaded into
    a model built with ``deform_impl='torch'``: same head outputs and same predictions."""
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint, save_checkpoint

    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs

    def build(impl):
        cfg = Config.fromfile(SMALL_SIPMASK)
        init_default_scope('mmdet')
        cfg.model.backbone.init_cfg = None
        cfg.model.bbox_head.deform_impl = impl
        cfg.model.test_cfg.update(score_thr=0.0, max_per_img=10)
        model = MODELS.build(cfg.model)
        model.init_weights()
        return model

    torch.manual_seed(0)
    trained = build('mmcv').train()
    assert trained.bbox_head.align.conv_adaption.impl == 'mmcv'
    optim = OptimWrapper(torch.optim.SGD(trained.parameters(), lr=0.05))
    data = demo_mm_inputs(2, [[3, 64, 96], [3, 64, 96]], num_classes=3, with_mask=True)
    trained.train_step(data, optim)
    offset_w = trained.bbox_head.align.conv_offset.weight
    assert offset_w.abs().max() > 0  # the alignment's offsets moved away from zero
    save_checkpoint(trained.state_dict(), str(tmp_path / 'mmcv.pth'))

    loaded = build('torch')
    load_checkpoint(loaded, str(tmp_path / 'mmcv.pth'), map_location='cpu', strict=True)
    trained.eval(), loaded.eval()
    test_data = demo_mm_inputs(1, [[3, 64, 96]], num_classes=3, with_mask=True)
    with torch.no_grad():
        feats = trained.extract_feat(trained.data_preprocessor(test_data)['inputs'])
        for a, b in zip(trained.bbox_head(feats), loaded.bbox_head(feats)):
            for la, lb in zip(a, b):
                torch.testing.assert_close(la, lb, atol=1e-4, rtol=1e-4)
        pred_a = trained.test_step(test_data)[0].pred_instances
        pred_b = loaded.test_step(test_data)[0].pred_instances
    assert len(pred_a) == len(pred_b) == 10
    torch.testing.assert_close(pred_b.scores, pred_a.scores, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(pred_b.bboxes, pred_a.bboxes, atol=1e-2, rtol=1e-4)
    assert torch.equal(pred_b.labels, pred_a.labels)
    assert (pred_b.masks != pred_a.masks).float().mean() < 1e-3


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
class TestCUDA:
    """On a GPU: our PyTorch path on CUDA tensors equals mmcv's CUDA op, and 'auto' runs
    mmcv's op there."""

    @pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
    def test_torch_path_equals_mmcv_cuda_op(self, case):
        _compare(case, device='cuda')

    def test_auto_runs_mmcv_on_cuda(self, monkeypatch):
        import mmsgnet.models.layers.deform_conv as dc
        layer = DeformConv2dFast(8, 8, 3, padding=1, deform_groups=2).cuda()

        def fail(*args, **kwargs):
            raise AssertionError('the PyTorch path ran on CUDA with impl=auto')

        monkeypatch.setattr(dc, 'deform_conv2d_torch', fail)
        out = layer(torch.randn(1, 8, 6, 6, device='cuda'),
                    torch.randn(1, 36, 6, 6, device='cuda'))
        assert out.is_cuda
