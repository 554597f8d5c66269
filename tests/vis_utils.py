"""Shared helpers of the video-model tests."""
import importlib.util
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmdet.registry import DATASETS, MODELS
from mmsgnet.datasets.synthetic import generate_youtube_vis

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(path: str):
    """The module of a tool script (``tools/...py``, relative to the repository root)."""
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_short_video(root, num_frames=2):
    """One generated 160x120 video under ``root/val`` (CocoVID annotations)."""
    generate_youtube_vis(str(root / 'val'), num_videos=1, num_frames=num_frames,
                         image_size=(160, 120), seed=3)
    return root


def predict_short_video(config: str, root):
    """Build a video config with random weights (PyTorch's default init, score threshold 0)
    and predict the short video through its own test pipeline at 320x180."""
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    cfg.model.detector.backbone.init_cfg = None
    cfg.model.detector.init_cfg = None
    model = MODELS.build(cfg.model).eval()
    model.detector.bbox_head.test_cfg['score_thr'] = 0.0
    dataset_cfg = cfg.test_dataloader.dataset
    for key in ('check_images', 'check_workers'):  # arguments of our strict datasets only
        dataset_cfg.pop(key, None)
    # mmdet's dataset knows the 2019/2021 versions only; the classes come from metainfo
    dataset_cfg.update(type='YouTubeVISDataset', dataset_version='2019', data_root=str(root) + '/',
                       ann_file='val/annotations/instances_cocovid.json',
                       data_prefix=dict(img_path='val/JPEGImages/'),
                       metainfo=dict(classes=('person', 'giant_panda', 'lizard')))
    for transform in dataset_cfg.pipeline[0].transforms:  # keep the CPU test fast
        if transform.type == 'Resize':
            transform.scale = (320, 180)
    dataset = DATASETS.build(dataset_cfg)
    with torch.no_grad():
        return cfg, model.test_step(pseudo_collate([dataset[0]]))[0]
