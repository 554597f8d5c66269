"""The checkpoint converters' shared core (mmsgnet.utils.model_convert) and the MEInst
converter, on synthetic AdelaiDet-named state dicts."""
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmsgnet  # noqa: F401
from mmdet.registry import MODELS
from mmsgnet.models.layers.mask_encoding import save_components

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONVERTERS = osp.join(ROOT, 'tools', 'model_converters')
SMALL = osp.join(ROOT, 'configs', 'meinst', 'meinst_r18_fpn_gn-head_generated-coco.py')
sys.path.insert(0, CONVERTERS)
import meinst_to_mmsgnet  # noqa: E402
import sipmask_to_mmsgnet  # noqa: E402


@pytest.fixture(scope='module')
def npz(tmp_path_factory):
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(784, 60)))
    path = str(tmp_path_factory.mktemp('npz') / 'c.npz')
    return save_components(path, q.T, rng.normal(size=784), np.linspace(5, 1, 60))


def small_config(tmp_path, npz, **bbox_head):
    """The small MEInst config (optionally with head options), written to a file."""
    cfg = Config.fromfile(SMALL)
    cfg.model.bbox_head.update(bbox_head)
    cfg.model.mask_head.components_file = npz
    path = str(tmp_path / f'meinst_{len(bbox_head)}.py')
    cfg.dump(path)
    return path


def build(config):
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


def adelaidet_state_dict(model):
    """Our model's weights under AdelaiDet (detectron2) MEInst names (randomised)."""
    head = 'proposal_generator.MEInst_head.'
    towers = {'cls_convs': 'cls', 'reg_convs': 'bbox', 'mask_convs': 'mask'}
    preds = {'conv_cls': 'cls_logits', 'conv_reg': 'bbox_pred',
             'conv_centerness': 'ctrness', 'conv_mask': 'mask_pred'}
    lk = {'path_a.0': 'conv_l1', 'path_a.1': 'conv_l2', 'path_b.0': 'conv_r1',
          'path_b.1': 'conv_r2'}
    out = {'pixel_mean': torch.zeros(3, 1, 1), 'pixel_std': torch.ones(3, 1, 1)}
    own = model.state_dict()
    for key, value in own.items():
        if key.endswith('num_batches_tracked'):
            continue
        if key == 'backbone.conv1.weight':
            name = 'backbone.bottom_up.stem.conv1.weight'
        elif key.startswith('backbone.bn1.'):
            name = 'backbone.bottom_up.stem.conv1.norm.' + key.split('.')[-1]
        elif key.startswith('backbone.layer'):
            m = re.match(r'backbone\.layer(\d)\.(\d+)\.(.+)$', key)
            stage, block, rest = int(m.group(1)) + 1, m.group(2), m.group(3)
            rest = re.sub(r'^bn(\d)\.', r'conv\1.norm.', rest)
            rest = rest.replace('downsample.0.', 'shortcut.').replace(
                'downsample.1.', 'shortcut.norm.')
            name = f'backbone.bottom_up.res{stage}.{block}.{rest}'
        elif key.startswith('neck.'):
            m = re.match(r'neck\.(lateral_convs|fpn_convs)\.(\d)\.conv\.(.+)$', key)
            level = int(m.group(2))
            if m.group(1) == 'lateral_convs':
                name = f'backbone.fpn_lateral{level + 3}.{m.group(3)}'
            elif level < 3:
                name = f'backbone.fpn_output{level + 3}.{m.group(3)}'
            else:
                name = f'backbone.top_block.p{level + 3}.{m.group(3)}'
        elif key.startswith('mask_head.'):
            short = key[len('mask_head.'):]
            name = 'proposal_generator.mask_encoding.' + {
                'components': 'components', 'mean': 'means',
                'explained_variance': 'explained_variances'}[short]
        else:
            m = re.match(r'bbox_head\.(\w+_convs)\.(\d+)\.(conv|gn)\.(.+)$', key)
            if m:
                tower, i, part, rest = m.groups()
                index = 3 * int(m.group(2)) + (part == 'gn')
                deformable = f'bbox_head.{tower}.{i}.conv.conv_offset.weight' in own
                if part == 'conv' and rest.startswith('conv_offset.'):
                    rest = 'offset.' + rest[len('conv_offset.'):]
                elif part == 'conv' and deformable:
                    rest = 'conv.' + rest  # DFConv2d: .conv.weight / .offset.*
                name = f'{head}{towers[tower]}_tower.{index}.{rest}'
            elif key.startswith('bbox_head.scales.'):
                name = head + key[len('bbox_head.'):]
            else:
                m = re.match(r'bbox_head\.(conv_\w+?)\.(.+)$', key)
                pred, rest = m.groups()
                for ours, theirs in lk.items():
                    rest = rest.replace(ours + '.', theirs + '.')
                name = f'{head}{preds[pred]}.{rest}'
        out[name] = torch.randn_like(value) if value.is_floating_point() else value
    return out


@pytest.mark.parametrize('options', [
    dict(), dict(deform_last_conv=True), dict(mask_predictor='large_kernel')
], ids=['plain', 'dcn', 'large-kernel'])
def test_meinst_converter_maps_adelaidet_names(options, tmp_path, npz):
    config = small_config(tmp_path, npz, **options)
    model = build(config)
    authors = adelaidet_state_dict(model)
    conv = meinst_to_mmsgnet.convert_state_dict(authors)
    assert conv.dropped == ['pixel_mean', 'pixel_std'] and conv.unmatched == []
    result = model.load_state_dict(conv.converted, strict=False)
    assert not result.unexpected_keys
    assert all(k.endswith('num_batches_tracked') for k in result.missing_keys)
    torch.testing.assert_close(model.bbox_head.scales[2].scale,
                               authors['proposal_generator.MEInst_head.scales.2.scale'])
    torch.testing.assert_close(model.mask_head.explained_variance, authors[
        'proposal_generator.mask_encoding.explained_variances'])

    src, dst = tmp_path / 'meinst_adelaidet.pth', tmp_path / 'out' / 'meinst.pth'
    torch.save({'model': authors, 'iteration': 90000}, src)  # detectron2's layout
    proc = subprocess.run([sys.executable, osp.join(CONVERTERS, 'meinst_to_mmsgnet.py'),
                           str(src), str(dst), '--config', config], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f'converted {len(authors) - 2} of {len(authors)} keys' in proc.stdout
    assert '0 missing, 0 unexpected, 0 shape mismatches' in proc.stdout
    saved = torch.load(dst)['state_dict']
    assert set(saved) == {k for k in model.state_dict() if not k.endswith('batches_tracked')}


def test_meinst_converter_adds_components_from_an_npz(tmp_path, npz):
    config = small_config(tmp_path, npz)
    authors = adelaidet_state_dict(build(config))
    for key in [k for k in authors if 'mask_encoding' in k]:
        del authors[key]
    src, dst = tmp_path / 'a.pth', tmp_path / 'b.pth'
    torch.save({'model': authors}, src)
    args = [str(src), str(dst), '--config', config]
    assert meinst_to_mmsgnet.main(args) == 1 and not dst.exists()  # missing buffers
    assert meinst_to_mmsgnet.main(args + ['--components', npz]) == 0
    saved = torch.load(dst)['state_dict']
    np.testing.assert_allclose(saved['mask_head.explained_variance'].numpy(),
                               np.linspace(5, 1, 60), rtol=1e-6)


# --------------------------------------------------------------- core refusals
def _run(main, tmp_path, content, extra=(), raw=None):
    src, dst = tmp_path / 'src.pth', tmp_path / 'dst' / 'dst.pth'
    if raw is not None:
        src.write_bytes(raw)
    else:
        torch.save(content, src)
    code = main([str(src), str(dst), *extra])
    return code, dst


def test_refusals_write_nothing(tmp_path, npz, capsys):
    config = small_config(tmp_path, npz)
    model = build(config)
    authors = adelaidet_state_dict(model)
    main = meinst_to_mmsgnet.main
    cases = []
    # an unknown key
    unknown = dict(authors, **{'proposal_generator.MEInst_head.new_layer.weight':
                               torch.zeros(1)})
    cases.append(((unknown, ), 'unknown to the converter.*\n  proposal_generator.MEInst_head'
                  '.new_layer.weight'))
    # nothing converts (another model's checkpoint)
    cases.append((({'state_dict': {'roi_head.fc.weight': torch.zeros(2)}}, ),
                  '0 of 1 keys .* were converted'))
    # a bare tensor
    cases.append(((torch.zeros(3), ), 'holds a single tensor, not a state dict'))
    # a config mismatch: the checkpoint has plain convs, the config deformable ones
    dcn_config = small_config(tmp_path, npz, deform_last_conv=True)
    cases.append(((authors, ['--config', dcn_config]),
                  'do not match the model of .*nothing written'))
    for args, message in cases:
        content, extra = args[0], (args[1] if len(args) > 1 else ())
        code, dst = _run(main, tmp_path, content, extra)
        err = capsys.readouterr().err
        assert code == 1 and re.search(message, err, re.S), err
        assert not dst.parent.exists() or os.listdir(dst.parent) == []


def test_damaged_file_is_named_damaged(tmp_path, npz, capsys):
    good = tmp_path / 'good.pth'
    torch.save({'model': {'backbone.fpn_lateral3.weight': torch.zeros(4, 4)}}, good)
    data = good.read_bytes()
    for raw in (data[:len(data) // 2], b'\x00garbage' * 10):
        code, dst = _run(meinst_to_mmsgnet.main, tmp_path, None, raw=raw)
        err = capsys.readouterr().err
        assert code == 1 and 'is damaged' in err and '--trust-checkpoint' not in err, err
        assert not dst.exists()


def test_mmengine_checkpoint_with_message_hub_loads(tmp_path):
    """A checkpoint written by mmengine (HistoryBuffer, numpy scalars) loads without
    --trust-checkpoint, through mmsgnet's allow-list."""
    from mmengine.logging import HistoryBuffer

    from mmsgnet.utils.model_convert import load_source_checkpoint
    buf = HistoryBuffer()
    buf.update(np.float64(0.5))
    src = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': {'backbone.conv1.weight': torch.ones(1)},
                'message_hub': {'log_scalars': {'loss': buf}, 'runtime_info': {
                    'iter': np.int64(3)}}}, src)
    sd = load_source_checkpoint(str(src))
    assert list(sd) == ['backbone.conv1.weight']


def test_sipmask_converter_runs_on_the_core(tmp_path):
    authors = {'backbone.conv1.weight': torch.ones(1), 'bbox_head.fcos_cls.weight': torch.ones(2),
               'bbox_head.fovea_track.weight': torch.ones(3)}
    conv = sipmask_to_mmsgnet.convert_state_dict(authors)
    assert list(conv.converted) == ['backbone.conv1.weight', 'bbox_head.conv_cls.weight']
    assert conv.dropped == ['bbox_head.fovea_track.weight'] and conv.unmatched == []
    code, dst = _run(sipmask_to_mmsgnet.main, tmp_path, {'state_dict': authors})
    assert code == 0 and set(torch.load(dst)['state_dict']) == set(conv.converted)
    authors['bbox_head.unknown.weight'] = torch.ones(1)
    (tmp_path / 'dst' / 'dst.pth').unlink()
    code, dst = _run(sipmask_to_mmsgnet.main, tmp_path, {'state_dict': authors})
    assert code == 1 and not dst.exists()
