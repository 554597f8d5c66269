"""VIS datasets beyond YouTube-VIS 2019/2021: OVIS (25 classes, val/test with "annotations":
null), YouTube-VIS 2022 (the 2021 classes) and a user's own categories (read from the file,
category ids not 1..K), each from generated files through the converter, check_dataset.py,
the dataset configs and 2 training iterations; and the frame-by-frame (TrackImgSampler)
evaluation that keeps long videos in bounded memory. CPU, 96x64 frames."""
import copy
import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmsgnet  # noqa: F401
from mmdet.datasets.samplers import TrackImgSampler
from mmdet.registry import DATASETS, METRICS, MODELS
from mmsgnet.datasets import (COCOVID_ANN_FILE, OVIS_CLASSES, YTVIS_ANN_FILE, AnnotationFileError,
                              generate_youtube_vis, ytvis_class_names)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATASET_CONFIGS = osp.join(ROOT, 'configs', '_base_', 'datasets')
SGNET = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')
SIZE = (96, 64)
CUSTOM = {5: 'ellipse', 7: 'rectangle', 9: 'triangle'}  # a user's ids and names


def _tool(path):
    spec = importlib.util.spec_from_file_location(osp.basename(path)[:-3], osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


convert_tool = _tool('tools/dataset_converters/ytvis2cocovid.py')
check_tool = _tool('tools/dataset_converters/check_dataset.py')


def _rewrite(path, edit):
    with open(path) as f:
        data = json.load(f)
    edit(data)
    with open(path, 'w') as f:
        json.dump(data, f)


def _as_ovis(data):
    data['categories'] = [dict(id=i + 1, name=n, supercategory='object')
                          for i, n in enumerate(OVIS_CLASSES)]


def _as_custom(data):
    new_id = dict(zip((1, 2, 3), CUSTOM))
    data['categories'] = [dict(id=i, name=n, supercategory='shape') for i, n in CUSTOM.items()]
    for track in data['annotations'] or []:
        track['category_id'] = new_id[track['category_id']]


def _hide_annotations(data):
    data['annotations'] = None  # what the official OVIS / YouTube-VIS valid files have


KINDS = {  # kind: (dataset config, generator version, category rewrite, expected classes)
    'ovis': ('ovis.py', '2019', _as_ovis, OVIS_CLASSES),
    '2022': ('youtube_vis_2022.py', '2021', None, None),
    'custom': (None, '2019', _as_custom, tuple(CUSTOM.values())),
}


def _make_split(root, kind, split, seed, hide=False):
    """Generated videos in the official format, made OVIS / 2022 / custom-like, converted
    with the converter tool; returns the CocoVID file."""
    _, version, rewrite, _ = KINDS[kind]
    out = root / split
    generate_youtube_vis(str(out), num_videos=2, num_frames=4, image_size=SIZE, seed=seed,
                         dataset_version=version)
    official = out / YTVIS_ANN_FILE
    for edit in (rewrite, _hide_annotations if hide else None):
        if edit is not None:
            _rewrite(official, edit)
    convert_tool.main([str(official), str(out / COCOVID_ANN_FILE)])
    return out / COCOVID_ANN_FILE


def _dataset_cfg(kind, root, split, pipeline, test_mode):
    """The kind's dataset config (``configs/_base_/datasets``) pointed at the generated split;
    the custom kind is a bare ``VISDataset`` (classes from the file)."""
    config = KINDS[kind][0]
    if config:
        loader = Config.fromfile(osp.join(DATASET_CONFIGS, config))[
            'val_dataloader' if test_mode else 'train_dataloader']
        cfg = copy.deepcopy(loader.dataset)
    else:
        cfg = ConfigDict(type='VISDataset')
    cfg.update(data_root=str(root) + '/', ann_file=f'{split}/{COCOVID_ANN_FILE}',
               data_prefix=dict(img_path=f'{split}/JPEGImages/'), pipeline=pipeline,
               test_mode=test_mode)
    return cfg


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_dataset_loads_its_own_classes_checks_and_trains_two_iterations(kind, tmp_path):
    init_default_scope('mmdet')
    _make_split(tmp_path, kind, 'train', seed=0)
    val_file = _make_split(tmp_path, kind, 'val', seed=1, hide=True)
    expected = KINDS[kind][3] or ytvis_class_names('2021')
    small = Config.fromfile(SGNET)

    # a hidden-GT split: "annotations": null -> [] by the converter; loads in test mode
    val = DATASETS.build(_dataset_cfg(kind, tmp_path, 'val', small.test_pipeline, True))
    assert tuple(val.metainfo['classes']) == tuple(expected)
    assert len(val) == 2 and all(not f['instances'] for f in val.get_data_info(0)['images'])
    with open(val_file) as f:
        assert json.load(f)['annotations'] == []
    check_tool.main([str(tmp_path / 'val' / YTVIS_ANN_FILE), '--allow-empty', '--img-dir',
                     str(tmp_path / 'val' / 'JPEGImages')])
    check_tool.main([str(tmp_path / 'train' / COCOVID_ANN_FILE)])

    train_cfg = _dataset_cfg(kind, tmp_path, 'train', small.train_pipeline, False)
    train = DATASETS.build(copy.deepcopy(train_cfg))
    assert tuple(train.metainfo['classes']) == tuple(expected)
    if kind == 'custom':
        assert train.metainfo['cat_ids'] == sorted(CUSTOM)
    labels = {i['bbox_label'] for v in range(len(train))
              for f in train.get_data_info(v)['images'] for i in f['instances']}
    assert labels and labels <= {0, 1, 2}

    cfg = small.copy()
    cfg.model.detector.bbox_head.num_classes = len(expected)
    cfg.train_dataloader.dataset = train_cfg
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = 2
    cfg.default_hooks.checkpoint.interval = 2
    cfg.work_dir = str(tmp_path / 'work')
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2 and (tmp_path / 'work' / 'iter_2.pth').is_file()


def test_classes_given_out_of_id_order_or_unknown_version_are_refused(tmp_path):
    init_default_scope('mmdet')
    _make_split(tmp_path, 'custom', 'train', seed=0)
    small = Config.fromfile(SGNET)
    cfg = _dataset_cfg('custom', tmp_path, 'train', small.train_pipeline, False)
    cfg.metainfo = dict(classes=('triangle', 'ellipse'))
    with pytest.raises(AnnotationFileError, match="not in the file's category-id order"):
        DATASETS.build(copy.deepcopy(cfg))
    cfg.metainfo = dict(classes=('ellipse', 'triangle'))  # a subset in id order is fine
    assert DATASETS.build(copy.deepcopy(cfg)).metainfo['cat_ids'] == [5, 9]
    cfg.pop('metainfo')
    cfg.dataset_version = '2020'
    with pytest.raises(ValueError, match="unknown dataset_version '2020'"):
        DATASETS.build(cfg)


def test_dataset_model_configs_build_with_the_dataset_class_count():
    init_default_scope('mmdet')
    for method, name in (('sgnet', 'sgnet_r50_fpn_1xb8-12e'),
                         ('sipmask_vis', 'sipmask-vis_r50-caffe_fpn_gn-head_1x')):
        for dataset, classes in (('ovis', 25), ('youtubevis2022', 40)):
            cfg = Config.fromfile(osp.join(ROOT, 'configs', method, f'{name}_{dataset}.py'))
            assert cfg.model.detector.bbox_head.num_classes == classes
            for loader in (cfg.train_dataloader, cfg.test_dataloader):
                assert loader.dataset.type == 'VISDataset'
                assert loader.dataset.dataset_version == ('ovis' if classes == 25 else '2022')
            assert cfg.test_dataloader.sampler.type == 'TrackImgSampler'


def test_frame_by_frame_evaluation_equals_whole_video_evaluation(tmp_path):
    """test_tracking.py's path: TrackImgSampler gives one frame per sample (no whole-video
    tensor); the model and YTVISMetric give the same records and numbers as whole videos."""
    init_default_scope('mmdet')
    generate_youtube_vis(str(tmp_path), num_videos=2, num_frames=5, image_size=SIZE, seed=4)
    cfg = Config.fromfile(SGNET)
    cfg.model.detector.test_cfg.score_thr = 0.0
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.update(data_root=str(tmp_path) + '/', ann_file=COCOVID_ANN_FILE,
                       data_prefix=dict(img_path='JPEGImages/'))
    dataset = DATASETS.build(dataset_cfg)
    assert cfg.test_dataloader.sampler.type == 'TrackImgSampler'
    metrics = []
    for per_frame in (False, True):
        metric = METRICS.build(dict(type='YTVISMetric'))
        metric.dataset_meta = dataset.metainfo
        indices = list(TrackImgSampler(dataset, seed=0)) if per_frame else range(len(dataset))
        for index in indices:
            batch = pseudo_collate([dataset[index]])
            assert batch['inputs'][0].shape[0] == (1 if per_frame else 5)
            with torch.no_grad():
                outputs = model.test_step(batch)
            metric.process(batch, [sample.to_dict() for sample in outputs])  # as Evaluator
        assert not metric._partial_videos
        metrics.append(metric)
    whole, frames = metrics
    assert len(whole.results) == len(frames.results) == 2
    assert frames.results == whole.results
    assert any(video['predictions'] for video in whole.results)
    assert frames.compute_metrics(frames.results) == whole.compute_metrics(whole.results)
