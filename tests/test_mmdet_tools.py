"""mmdet's own analysis tools on our configs, run through the thin wrappers in
tools/analysis_tools/ (they import mmsgnet, then run mmdet's script): get_flops.py (image and
video configs), browse_dataset.py, mot/browse_dataset.py (video), analyze_logs.py plot_curve
on a 2-iteration training log of ours, confusion_matrix.py on test.py --out results, and
test.py --tta refused with the reason. CPU, generated data at 96x64."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmsgnet.datasets import generate_coco_instance, generate_youtube_vis

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SIPMASK = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')
SGNET = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')


def _run(tool, *args):
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', *tool.split('/')),
                           *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    return proc


def _ok(tool, *args):
    proc = _run(tool, *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def image_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco')
    generate_coco_instance(str(root / 'train'), num_images=4, image_size=(96, 64), seed=0)
    generate_coco_instance(str(root / 'val'), num_images=2, image_size=(96, 64), seed=1)
    data_root = f'{root}/'
    return ['train_dataloader.dataset.data_root=' + data_root,
            'val_dataloader.dataset.data_root=' + data_root,
            'test_dataloader.dataset.data_root=' + data_root,
            f'val_evaluator.ann_file={data_root}val/annotations/instances.json',
            f'test_evaluator.ann_file={data_root}val/annotations/instances.json']


@pytest.fixture(scope='module')
def video_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('ytvis')
    for split, seed in (('train', 0), ('val', 1)):
        generate_youtube_vis(str(root / split), num_videos=1, num_frames=3,
                             image_size=(96, 64), seed=seed)
    return [f'{loader}.dataset.data_root={root}/' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]


@pytest.fixture(scope='module')
def trained(image_data, tmp_path_factory):
    """A 2-iteration training run of the small SipMask config (log every iteration)."""
    work_dir = tmp_path_factory.mktemp('work')
    _ok('train.py', SIPMASK, '--work-dir', work_dir, '--cfg-options', *image_data,
        'train_cfg.max_iters=2', 'train_cfg.val_interval=1000',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
        'train_dataloader.batch_size=2')
    return work_dir


def test_get_flops_on_image_and_video_configs(image_data, video_data):
    out = _ok('analysis_tools/get_flops.py', SIPMASK, '--num-images', '1', '--cfg-options',
              *image_data)
    assert 'Flops:' in out and 'Params:' in out
    out = _ok('analysis_tools/get_flops.py', SGNET, '--num-images', '1', '--cfg-options',
              *video_data)
    assert 'Flops:' in out and 'Params:' in out


def test_browse_dataset_image_and_video(image_data, video_data, tmp_path):
    _ok('analysis_tools/browse_dataset.py', SIPMASK, '--output-dir', tmp_path / 'images',
        '--not-show', '--cfg-options', *image_data)
    assert len(os.listdir(tmp_path / 'images')) == 4
    _ok('analysis_tools/browse_video_dataset.py', SGNET, '--output-dir', tmp_path / 'video',
        '--not-show', '--cfg-options', *video_data)
    drawn = glob.glob(str(tmp_path / 'video' / '*' / 'img_*.jpg'))
    assert len(drawn) == 2  # the key and the reference frame of the one training sample


def test_analyze_logs_plots_our_training_log(trained, tmp_path):
    (log, ) = glob.glob(str(trained / '*' / 'vis_data' / 'scalars.json'))
    out = tmp_path / 'loss.png'
    _ok('analysis_tools/analyze_logs.py', 'plot_curve', log, '--keys', 'loss', 'loss_mask',
        '--out', out)
    assert out.stat().st_size > 1000


def test_confusion_matrix_from_test_results(trained, image_data, tmp_path):
    results = tmp_path / 'results.pkl'
    _ok('test.py', SIPMASK, trained / 'iter_2.pth', '--out', results, '--cfg-options',
        *image_data)
    _ok('analysis_tools/confusion_matrix.py', SIPMASK, results, tmp_path, '--score-thr', '0',
        '--cfg-options', *image_data)
    assert (tmp_path / 'confusion_matrix.png').stat().st_size > 1000


def test_tta_is_refused_for_mask_models_with_the_reason(trained, image_data):
    proc = _run('test.py', SIPMASK, trained / 'iter_2.pth', '--tta', '--cfg-options',
                *image_data)
    assert proc.returncode == 1
    assert 'DetTTAModel' in proc.stderr and 'masks' in proc.stderr
