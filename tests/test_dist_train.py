"""tools/dist_train.sh with 2 processes on CPU (gloo): the small SG-Net config trains on
generated videos and saves the same kind of checkpoint as a 1-process run."""
import os
import os.path as osp
import socket
import subprocess
import sys

import torch

from mmsgnet.datasets.synthetic import generate_youtube_vis

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _options(data_root):
    return ['train_cfg.max_iters=3', 'default_hooks.checkpoint.interval=3',
            'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
            f'train_dataloader.dataset.data_root={data_root}',
            f'val_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}']


def test_two_process_cpu_training_saves_the_same_checkpoint_as_one_process(tmp_path):
    data_root = f'{tmp_path}/data/'
    generate_youtube_vis(data_root + 'train', num_videos=4, num_frames=4,
                         image_size=(160, 128), seed=0, max_objects=2)
    # 2 val videos: the frame-by-frame test sampler (TrackImgSampler) puts whole videos on
    # ranks and needs one per process (built when training starts, even if never run)
    generate_youtube_vis(data_root + 'val', num_videos=2, num_frames=2,
                         image_size=(160, 128), seed=1, max_objects=2)
    env = dict(os.environ, PORT=str(_free_port()), OMP_NUM_THREADS='1')
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), CONFIG, '2', '--work-dir',
           str(tmp_path / 'dist'), '--cfg-options', *_options(data_root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log and "'backend': 'gloo'" in log, log[-4000:]
    assert 'GPU number: 2' in log, log[-4000:]  # mmengine's name for the world size

    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir',
           str(tmp_path / 'single'), '--cfg-options', *_options(data_root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

    dist = torch.load(tmp_path / 'dist' / 'iter_3.pth', map_location='cpu')
    single = torch.load(tmp_path / 'single' / 'iter_3.pth', map_location='cpu')
    assert set(dist) == set(single)
    assert dist['meta']['iter'] == single['meta']['iter'] == 3
    # plain model keys (no DDP "module." prefix), same shapes, weights trained
    assert {k: v.shape for k, v in dist['state_dict'].items()} == \
        {k: v.shape for k, v in single['state_dict'].items()}
    assert not any(k.startswith('module.') for k in dist['state_dict'])
    assert all(torch.isfinite(v).all() for v in dist['state_dict'].values()
               if v.is_floating_point())
