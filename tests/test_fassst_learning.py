"""Learning test: the small FASSST config, trained on a few generated images on CPU,
predicts masks that overlap their ground truth (mean IoU >= 0.7).

As the SipMask learning test: random initial weights (nothing pretrained is reachable
offline), 16 generated training images, evaluated through ``test_step`` (IAM boxes, NMS,
56 x 56 -> image paste at the original size) on the same images; every ground-truth object
counts, with the IoU of its best predicted mask (0 when nothing is predicted).
"""
import copy
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmsgnet  # noqa: F401
from mmsgnet.datasets.synthetic import generate_coco_instance

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'fassst', 'fassst_mobilenetv2-0.5x_generated-coco.py')


def mask_iou(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """(P, H, W) x (H, W) -> (P,) IoU."""
    inter = (pred & gt).flatten(1).sum(1).float()
    union = (pred | gt).flatten(1).sum(1).float()
    return inter / union.clamp(min=1)


def evaluate(model, dataloader) -> list:
    """Per GT object, the IoU of its best predicted mask."""
    ious = []
    for data in dataloader:
        with torch.no_grad():
            pred = model.test_step(data)[0].pred_instances
        gt_masks = torch.from_numpy(data['data_samples'][0].gt_instances.masks.to_ndarray())
        assert pred.masks.shape[1:] == gt_masks.shape[1:]  # original image size
        for gt in gt_masks.bool():
            ious.append(float(mask_iou(pred.masks, gt).max()) if len(pred) else 0.0)
    return ious


def train_small_fassst(tmp_path, iters=None):
    """Train the small config on 16 generated images (seed 0); 16 held-out images (seed 1)
    are written too. Returns the runner (its test dataloader reads the training images)."""
    data_root = f'{tmp_path}/data/'
    for split, seed in (('train', 0), ('val', 1)):
        generate_coco_instance(data_root + split, num_images=16, image_size=(160, 128),
                               seed=seed, min_area=150)
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = data_root
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.ann_file = 'train/annotations/instances.json'
        loader.dataset.data_prefix = dict(img='train/images/')
    cfg.val_evaluator.ann_file = data_root + 'train/annotations/instances.json'
    cfg.test_evaluator = cfg.val_evaluator
    iters = iters or cfg.max_iters
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1  # no COCO evaluation during training
    cfg.param_scheduler[-1].end = iters
    cfg.default_hooks.checkpoint.interval = iters + 1
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def held_out_dataloader(runner):
    """The test dataloader on the 16 held-out images."""
    loader_cfg = copy.deepcopy(runner.cfg.test_dataloader)
    loader_cfg.dataset.ann_file = 'val/annotations/instances.json'
    loader_cfg.dataset.data_prefix = dict(img='val/images/')
    return Runner.build_dataloader(loader_cfg)


def test_fassst_learns_masks_on_generated_images(tmp_path):
    runner = train_small_fassst(tmp_path)
    model = runner.model.eval()
    ious = evaluate(model, runner.test_dataloader)
    held_out = evaluate(model, held_out_dataloader(runner))
    # reported, not asserted: 16 training images from scratch do not generalise far
    print(f'\nFASSST small config: mean mask IoU {np.mean(ious):.3f} on {len(ious)} training '
          f'objects, {np.mean(held_out):.3f} on {len(held_out)} held-out objects')
    assert len(ious) >= 30
    assert np.mean(ious) >= 0.7, f'mean mask IoU {np.mean(ious):.3f} over {len(ious)} objects'
