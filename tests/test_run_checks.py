"""Bad settings and files are refused with one named error before any work, and runs never
leave half-written checkpoints: atomic checkpoint saves, truncated checkpoints, image
checkpoints given to a video model, num_classes against the dataset, --amp on CPU,
upsample_factor=0, metric outputs inside --work-dir. Through the command-line tools, as
users run them (each subprocess pays the ~5 s import of mmdet)."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine import Config
from mmengine.registry import init_default_scope
from vis_utils import make_short_video

import mmsgnet  # noqa: F401
from mmdet.registry import MODELS
from mmsgnet.datasets.synthetic import generate_coco_instance

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMAGE_CONFIG = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')
VIDEO_CONFIG = osp.join(ROOT, 'configs', 'sipmask_vis', 'sipmask-vis_r18_fpn_generated-ytvis.py')
SGNET_CONFIG = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')


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


def _random_checkpoint(config, path, backbone_key='backbone'):
    """The state dict of the config's model with random weights (no pretrained backbone)."""
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    cfg.merge_from_dict({f'model.{backbone_key}.init_cfg': None})
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, path)
    return path


# a training run whose process is killed (SIGKILL) while the second checkpoint is written:
# a thread watches the work folder and kills the process as soon as a file of iteration 2
# has bytes on disk
KILL_WHILE_SAVING = textwrap.dedent("""
    import os, signal, sys, threading, time
    sys.argv.pop(0)  # '-c': the tool's path comes next
    work_dir = sys.argv[sys.argv.index('--work-dir') + 1]
    def watch():
        while True:
            for name in os.listdir(work_dir) if os.path.isdir(work_dir) else []:
                path = os.path.join(work_dir, name)
                if 'iter_2' in name and os.path.isfile(path) and os.path.getsize(path) > 0:
                    os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.0002)
    threading.Thread(target=watch, daemon=True).start()
    sys.path.insert(0, os.getcwd())
    from mmsgnet.utils.tools import run_mmdet_tool
    run_mmdet_tool('train.py')
""")


def test_a_kill_while_saving_leaves_no_partial_checkpoint_and_resume_works(
        coco_root, tmp_path):
    from mmsgnet.utils import load_checkpoint_file
    work_dir = tmp_path / 'work'
    options = _coco_options(coco_root) + [
        'train_cfg.max_iters=3', 'train_cfg.val_interval=1000',
        'default_hooks.checkpoint.interval=1']
    proc = _tool('train.py', IMAGE_CONFIG, '--work-dir', work_dir, '--cfg-options', *options,
                 code=KILL_WHILE_SAVING)
    assert proc.returncode == -9, proc.stderr[-3000:]  # killed while writing iteration 2
    names = sorted(os.listdir(work_dir))
    assert 'iter_1.pth' in names and 'iter_2.pth' not in names, names
    for name in names:  # what is left is complete (the temporary file may remain)
        if name.endswith('.pth'):
            assert load_checkpoint_file(str(work_dir / name))['meta']['iter'] == 1
    with open(work_dir / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_1.pth')
    # a bare --resume continues from the last complete checkpoint
    proc = _tool('train.py', IMAGE_CONFIG, '--work-dir', work_dir, '--resume', '--cfg-options',
                 *options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 1' in proc.stdout + proc.stderr
    assert load_checkpoint_file(str(work_dir / 'iter_3.pth'))['meta']['iter'] == 3


def test_truncated_checkpoint_gives_one_named_error(coco_root, tmp_path):
    from mmsgnet.utils import CheckpointFileError, load_checkpoint_file
    ckpt = _random_checkpoint(IMAGE_CONFIG, tmp_path / 'full.pth')
    data = ckpt.read_bytes()
    truncated = tmp_path / 'iter_8.pth'
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointFileError, match=r"iter_8\.pth'.*truncated.*Fix: use another"):
        load_checkpoint_file(str(truncated))
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(CheckpointFileError, match='empty'):
        load_checkpoint_file(str(tmp_path / 'empty.pth'))
    proc = _tool('train.py', IMAGE_CONFIG, '--work-dir', tmp_path / 'work', '--resume',
                 truncated, '--cfg-options', *_coco_options(coco_root))
    _named_error_last(proc, str(truncated), 'truncated or corrupt', 'Fix: ')
    assert not (tmp_path / 'work' / 'iter_1.pth').exists()
    proc = _tool('test.py', IMAGE_CONFIG, truncated, '--work-dir', tmp_path / 'work',
                 '--cfg-options', *_coco_options(coco_root))
    _named_error_last(proc, str(truncated), 'truncated or corrupt', 'Fix: ')


def test_num_classes_different_from_the_dataset_is_refused_before_training(coco_root,
                                                                           tmp_path):
    proc = _tool('train.py', IMAGE_CONFIG, '--work-dir', tmp_path / 'work', '--cfg-options',
                 *_coco_options(coco_root), 'model.bbox_head.num_classes=4')
    _named_error_last(proc, '`model.bbox_head.num_classes` is 4', 'has 3 classes',
                      "('ellipse', 'rectangle', 'triangle')",
                      'Fix: set `model.bbox_head.num_classes=3`')
    assert 'Iter(train)' not in proc.stdout + proc.stderr
    assert not list((tmp_path / 'work').rglob('*.pth'))


def test_video_model_refuses_an_image_checkpoint_for_testing_and_resuming(tmp_path):
    video_root = make_short_video(tmp_path / 'ytvis')
    image_ckpt = _random_checkpoint(IMAGE_CONFIG, tmp_path / 'image.pth')
    data = [f'{key}.dataset.data_root={video_root}/' for key in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')] + [
        f'{key}.dataset.ann_file=val/annotations/instances_cocovid.json' for key in
        ('train_dataloader', 'test_dataloader')] + [
        f'{key}.dataset.data_prefix.img_path=val/JPEGImages/' for key in
        ('train_dataloader', 'test_dataloader')] + ['model.detector.backbone.init_cfg=None']
    expected = ('holds an image detector', "without the 'detector.' prefix",
                'track_head.', 'Fix: use a checkpoint of this video config',
                '`load_from=IMAGE_CKPT`')
    proc = _tool('test_tracking.py', VIDEO_CONFIG, '--checkpoint', image_ckpt, '--work-dir',
                 tmp_path / 'test', '--cfg-options', *data)
    message = _named_error_last(proc, 'cannot test', *expected)
    assert str(image_ckpt) in message
    proc = _tool('train.py', VIDEO_CONFIG, '--work-dir', tmp_path / 'train', '--resume',
                 image_ckpt, '--cfg-options', *data)
    _named_error_last(proc, 'cannot resume training', *expected)
    assert not list((tmp_path / 'train').rglob('*.pth'))


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


@pytest.mark.parametrize('config', [IMAGE_CONFIG, SGNET_CONFIG])
def test_upsample_factor_zero_is_a_named_config_error(config):
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    head = cfg.model.mask_head if 'mask_head' in cfg.model else cfg.model.detector.mask_head
    head.upsample_factor = 0
    from mmsgnet.utils import ConfigError
    with pytest.raises(ConfigError, match=r'upsample_factor must be an integer '
                       r'>= 1 .*got 0\. Fix: '):
        MODELS.build(cfg.model)


def test_test_tracking_writes_the_results_files_into_the_work_dir(tmp_path):
    video_root = make_short_video(tmp_path / 'ytvis')
    ckpt = _random_checkpoint(SGNET_CONFIG, tmp_path / 'random.pth', 'detector.backbone')
    work_dir = tmp_path / 'work'
    proc = _tool('test_tracking.py', SGNET_CONFIG, '--checkpoint', ckpt, '--work-dir', work_dir,
                 '--cfg-options', f'test_dataloader.dataset.data_root={video_root}/',
                 'test_dataloader.dataset.ann_file=val/annotations/instances_cocovid.json',
                 'test_dataloader.dataset.data_prefix.img_path=val/JPEGImages/')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work_dir / 'generated_ytvis_results.json').is_file()
    assert (work_dir / 'generated_ytvis_results.submission_file.zip').is_file()
    assert not osp.exists(osp.join(ROOT, 'work_dirs', 'generated_ytvis_results.json')) or \
        osp.getmtime(osp.join(ROOT, 'work_dirs', 'generated_ytvis_results.json')) < \
        osp.getmtime(ckpt)
