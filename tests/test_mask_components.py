"""tools/dataset_converters/mask_components.py: fit, report, AdelaiDet files, errors."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest

from mmsgnet.datasets.synthetic import generate_coco_instance
from mmsgnet.models.layers.mask_encoding import load_components

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(ROOT, 'tools', 'dataset_converters', 'mask_components.py')
sys.path.insert(0, osp.dirname(TOOL))
import mask_components  # noqa: E402


@pytest.fixture(scope='module')
def ann_file(tmp_path_factory):
    root = tmp_path_factory.mktemp('components')
    return generate_coco_instance(str(root / 'data'), num_images=12, image_size=(128, 96),
                                  seed=0, mask_format='polygon')


def _miou_rows(text):
    return {int(n): (float(a), float(b))
            for n, a, b in re.findall(r'^(\d+)\s+([\d.]+)\s+([\d.]+)$', text, re.M)}


def test_cli_fits_writes_and_reports(ann_file, tmp_path):
    out = str(tmp_path / 'sub' / 'components_20.npz')
    proc = subprocess.run([sys.executable, TOOL, ann_file, '--out', out, '--num-components',
                           '20', '--report', '2', '10', '20'], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    num_masks = len([a for a in json.load(open(ann_file))['annotations'] if not a['iscrowd']])
    assert f'{num_masks} masks from' in proc.stdout
    rows = _miou_rows(proc.stdout)
    assert sorted(rows) == [2, 10, 20]
    assert rows[2][0] < rows[10][0] <= rows[20][0] + 1e-3  # Figure 5: more N, better
    assert rows[20][1] > 0.9
    with np.load(out) as data:
        assert {'components', 'mean', 'explained_variance', 'explained_variance_ratio',
                'num_masks', 'mask_size'} <= set(data.files)
        assert data['components'].shape == (20, 784) and data['mean'].shape == (784, )
        assert int(data['num_masks']) == num_masks
        comps = data['components']
    np.testing.assert_allclose(comps @ comps.T, np.eye(20), atol=1e-4)
    assert os.listdir(osp.dirname(out)) == ['components_20.npz']  # no temp file left
    assert 'masks' in proc.stderr  # progress bar


def test_fit_is_the_exact_pca_of_the_jittered_logits(ann_file):
    import torch

    from mmsgnet.models.layers.mask_encoding import jitter_logits
    packed = mask_components.collect_box_masks(ann_file, progress=False)
    comps = mask_components.fit(packed, 784, 5, seed=3, progress=False)
    masks = torch.from_numpy(np.unpackbits(packed, axis=1, count=784).astype(np.float32))
    logits = jitter_logits(masks, generator=torch.Generator().manual_seed(3)).double().numpy()
    centred = logits - logits.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(comps['explained_variance'], s[:5]**2 / (len(logits) - 1),
                               rtol=1e-6)
    np.testing.assert_allclose(np.abs(comps['components'] @ vt[:5].T), np.eye(5), atol=1e-5)
    np.testing.assert_allclose(comps['mean'], logits.mean(0), atol=1e-9)


def test_adelaidet_file_is_converted_and_evaluated(ann_file, tmp_path, capsys):
    ours = str(tmp_path / 'ours.npz')
    assert mask_components.main([ann_file, '--out', ours, '--num-components', '12',
                                 '--no-progress']) == 0
    arrays = load_components(ours)
    adelai = str(tmp_path / 'adelai.npz')
    np.savez(adelai, components_c=arrays['components'][None], mean_c=arrays['mean'][None],
             explained_variance_c=arrays['explained_variance'][None],
             ratio_c=np.ones((1, 12), np.float32))
    capsys.readouterr()
    assert mask_components.main([ann_file, '--components', adelai, '--report', '12',
                                 '--no-progress']) == 0
    assert 12 in _miou_rows(capsys.readouterr().out)
    converted = str(tmp_path / 'converted.npz')
    assert mask_components.main(['--components', adelai, '--out', converted]) == 0
    for key, value in load_components(converted).items():
        np.testing.assert_array_equal(value, arrays[key])


def _write(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


@pytest.mark.parametrize('case', ['only-crowd', 'n-over-784', 'n-over-masks', 'not-json',
                                  'missing', 'report-over-n', 'nothing-to-write'])
def test_bad_input_is_a_named_error_and_writes_nothing(case, ann_file, tmp_path, capsys):
    data = json.load(open(ann_file))
    out = tmp_path / 'out' / 'c.npz'
    args, message = [ann_file, '--out', str(out), '--no-progress'], None
    if case == 'only-crowd':
        for a in data['annotations']:
            a['iscrowd'] = 1
        args[0] = _write(tmp_path / 'crowd.json', data)
        message = 'has no non-crowd instance'
    elif case == 'n-over-784':
        args += ['--num-components', '785']
        message = r'--num-components must be in \[1, 784\]'
    elif case == 'n-over-masks':
        data['annotations'] = data['annotations'][:5]
        args[0] = _write(tmp_path / 'few.json', data)
        args += ['--num-components', '5']
        message = 'needs more masks than components .* has 5'
    elif case == 'not-json':
        (tmp_path / 'cut.json').write_text(open(ann_file).read()[:100])
        args[0] = str(tmp_path / 'cut.json')
        message = 'is not valid JSON'
    elif case == 'missing':
        args[0] = str(tmp_path / 'nope.json')
        message = 'does not exist'
    elif case == 'report-over-n':
        args += ['--num-components', '10', '--report', '20']
        message = r'--report \[20\]: only 10 components'
    elif case == 'nothing-to-write':
        args = [ann_file]
        message = 'nothing to write'
    assert mask_components.main(args) == 1
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert not out.parent.exists() or os.listdir(out.parent) == []
