"""A 2-iteration training run through tools/train.py saves a checkpoint that resumes."""
import os.path as osp
import subprocess
import sys

import torch

from mmsgnet.datasets.synthetic import generate_coco_instance

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')


def _train(work_dir, data_root, max_iters, *extra):
    opts = [
        f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=1000',
        'default_hooks.checkpoint.interval=2', f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}', 'train_dataloader.batch_size=2',
        f'val_evaluator.ann_file={data_root}val/annotations/instances.json',
        f'test_evaluator.ann_file={data_root}val/annotations/instances.json'
    ]
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir',
           str(work_dir), *extra, '--cfg-options', *opts]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_two_iterations_save_a_checkpoint_that_resumes(tmp_path):
    data_root = tmp_path / 'data'
    generate_coco_instance(str(data_root / 'train'), num_images=4, image_size=(96, 64), seed=0)
    generate_coco_instance(str(data_root / 'val'), num_images=2, image_size=(96, 64), seed=1)
    work_dir = tmp_path / 'work'
    _train(work_dir, f'{data_root}/', 2)
    ckpt_path = work_dir / 'iter_2.pth'
    assert ckpt_path.is_file()
    # the checkpoint carries mmengine's message hub (HistoryBuffer, numpy) and still loads
    # with torch's default weights_only=True once mmsgnet is imported
    ckpt = torch.load(ckpt_path, map_location='cpu')
    assert ckpt['meta']['iter'] == 2
    assert 'message_hub' in ckpt and 'optimizer' in ckpt

    log = _train(work_dir, f'{data_root}/', 4, '--resume')
    assert 'resumed' in log.lower()
    resumed = torch.load(work_dir / 'iter_4.pth', map_location='cpu')
    assert resumed['meta']['iter'] == 4
    # training went on from the saved weights: parameters changed after the resume
    key = 'bbox_head.conv_cls.weight'
    assert not torch.equal(ckpt['state_dict'][key], resumed['state_dict'][key])
