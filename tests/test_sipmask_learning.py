"""Learning test: the small SipMask config, trained on a few generated images on CPU,
predicts masks that overlap their ground truth (mean IoU >= 0.7).

The model starts from random weights (no pretrained backbone is reachable offline), so the
test asks what it can learn in a few minutes: it trains on 16 generated images and is
evaluated, through ``test_step`` (post-processing, masks pasted at the original size), on the
same images. Every ground-truth object counts: its IoU is that of the best predicted mask.
"""
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmsgnet  # noqa: F401
from mmsgnet.datasets.synthetic import generate_coco_instance

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')
ITERS = 600


def mask_iou(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """(P, H, W) x (H, W) -> (P,) IoU."""
    inter = (pred & gt).flatten(1).sum(1).float()
    union = (pred | gt).flatten(1).sum(1).float()
    return inter / union.clamp(min=1)


def test_sipmask_learns_masks_on_generated_images(tmp_path):
    data_root = f'{tmp_path}/data/'
    generate_coco_instance(data_root + 'train', num_images=16, image_size=(160, 128), seed=0,
                           min_area=150)
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = data_root
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.ann_file = 'train/annotations/instances.json'
        loader.dataset.data_prefix = dict(img='train/images/')
    cfg.val_evaluator.ann_file = data_root + 'train/annotations/instances.json'
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg.max_iters = ITERS
    cfg.train_cfg.val_interval = ITERS + 1  # no COCO evaluation during training
    cfg.param_scheduler[-1].end = ITERS
    cfg.default_hooks.checkpoint.interval = ITERS + 1
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()

    model = runner.model.eval()
    ious = []
    for data in runner.test_dataloader:
        with torch.no_grad():
            pred = model.test_step(data)[0].pred_instances
        gt_masks = torch.from_numpy(data['data_samples'][0].gt_instances.masks.to_ndarray())
        assert pred.masks.shape[1:] == gt_masks.shape[1:]  # original image size
        for gt in gt_masks.bool():
            ious.append(float(mask_iou(pred.masks, gt).max()) if len(pred) else 0.0)
    assert len(ious) >= 30
    assert np.mean(ious) >= 0.7, f'mean mask IoU {np.mean(ious):.3f} over {len(ious)} objects'
