"""Bad settings and files are refused with one named error before any work, and runs never
leave half-written checkpoints: atomic checkpoint saves, truncated checkpoints, image
checkpoints given to a video model, num_classes against the dataset, --amp on CPU,
upsample_factor=0, metric outputs inside --work-dir. Through the command-line tools, as
users run them (each subprocess pays the ~5 s import of mmdet)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

import mmsgnet  # noqa: F401
from mmsgnet.datasets.synthetic import generate_coco_instance


ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMAGE_CONFIG = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')


def _tool(name, *args, env=None, code=None):
    """Run ``tools/NAME`` (or ``code`` with ``sys.argv`` set as for that tool)."""
    argv = [osp.join(ROOT, 'tools', name), *map(str, args)]
    cmd = [sys.executable, *argv] if code is None else [sys.executable, '-c', code, *argv]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env=dict(os.environ, **(env or {})))


def _named_error_last(proc, *parts):
    """The run failed with status 1 and its stderr ends with the named error, shown once and
    without a traceback."""
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    err = proc.stderr.rstrip()
    assert 'Traceback' not in err, err[-3000:]
    assert '\nerror: ' in '\n' + err, err[-3000:]
    last = ('\n' + err).split('\nerror: ')[-1]
    assert err.count(last) == 1 and err.endswith(last)
    for part in parts:
        assert part in last, last
    return last


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco')
    for split, seed in (('train', 0), ('val', 1)):
        generate_coco_instance(str(root / split), num_images=4, image_size=(96, 64), seed=seed)
    return root


def _coco_options(root):
    return [f'{key}.dataset.data_root={root}/' for key in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')] + [
        f'{key}.ann_file={root}/val/annotations/instances.json'
        for key in ('val_evaluator', 'test_evaluator')] + [
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', 'model.backbone.init_cfg=None']


def test_a_data_error_in_training_is_printed_last_once_without_traceback(coco_root, tmp_path):
    proc = _tool('train.py', IMAGE_CONFIG, '--work-dir', tmp_path / 'work', '--cfg-options',
                 *_coco_options(coco_root), 'train_dataloader.dataset.ann_file=missing.json')
    message = _named_error_last(proc, f"Invalid annotation file '{coco_root}/missing.json'",
                                'file: does not exist. Fix: check `data_root` and `ann_file`')
    assert message.startswith('Invalid annotation file')  # not prefixed by mmengine's registry
    proc = _tool('train.py', IMAGE_CONFIG, '--work-dir', tmp_path / 'work', '--cfg-options',
                 *_coco_options(coco_root), 'train_dataloader.dataset.ann_file=missing.json',
                 env=dict(MMSGNET_TRACEBACK='1'))
    assert proc.returncode == 1 and 'Traceback' in proc.stderr
    assert proc.stderr.rstrip().endswith(message)


def test_amp_on_a_machine_without_cuda_is_refused_before_any_work(tmp_path):
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA: --amp works')
    proc = _tool('train.py', IMAGE_CONFIG, '--amp', '--work-dir', tmp_path / 'work')
    _named_error_last(proc, '--amp (automatic mixed precision) needs a CUDA GPU',
                      'Fix: drop --amp')
    assert not (tmp_path / 'work').exists()
