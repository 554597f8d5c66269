"""Learning test: the small MEInst config, trained on a few generated images on CPU,
predicts masks that overlap their ground truth (mean IoU >= 0.7 on the training images).

As the SipMask learning test: random initial weights, 16 generated training images, evaluated
through ``test_step`` (sqrt scores, NMS, coefficients decoded and pasted at the original size)
on the same images; every GT object counts with the IoU of its best predicted mask. The PCA
components are fitted by ``tools/dataset_converters/mask_components.py`` on the annotations of
a larger generated set (another seed), as a user would fit them on their training set. The
held-out figure (16 images of another seed) is printed, not asserted.
"""
import os.path as osp
import sys

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from test_sipmask_learning import mask_iou

import mmsgnet  # noqa: F401
from mmsgnet.datasets.synthetic import generate_coco_instance

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'meinst', 'meinst_r18_fpn_gn-head_generated-coco.py')
sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
ANN = 'annotations/instances.json'


def evaluate(model, dataloader) -> list:
    """IoU of each GT mask with its best predicted mask (0 if nothing is predicted)."""
    ious = []
    for data in dataloader:
        with torch.no_grad():
            pred = model.test_step(data)[0].pred_instances
        gt_masks = torch.from_numpy(data['data_samples'][0].gt_instances.masks.to_ndarray())
        assert pred.masks.shape[1:] == gt_masks.shape[1:]  # original image size
        for gt in gt_masks.bool():
            ious.append(float(mask_iou(pred.masks, gt).max()) if len(pred) else 0.0)
    return ious


def test_meinst_learns_masks_on_generated_images(tmp_path):
    import mask_components
    data_root = f'{tmp_path}/data/'
    kwargs = dict(image_size=(160, 128), min_area=150)
    generate_coco_instance(data_root + 'train', num_images=16, seed=0, **kwargs)
    generate_coco_instance(data_root + 'val', num_images=16, seed=1, **kwargs)
    fit_ann = generate_coco_instance(data_root + 'fit', num_images=200, seed=2, **kwargs)
    npz = str(tmp_path / 'components_60.npz')
    assert mask_components.main([fit_ann, '--out', npz, '--num-components', '60',
                                 '--no-progress']) == 0

    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.mask_head.components_file = npz
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = data_root
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.ann_file = 'train/' + ANN
        loader.dataset.data_prefix = dict(img='train/images/')
    cfg.val_evaluator.ann_file = data_root + 'train/' + ANN
    cfg.test_evaluator = cfg.val_evaluator
    iters = cfg.train_cfg.max_iters
    cfg.train_cfg.val_interval = iters + 1  # no COCO evaluation during training
    cfg.default_hooks.checkpoint.interval = iters + 1
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()

    model = runner.model.eval()
    ious = evaluate(model, runner.test_dataloader)
    held_cfg = cfg.test_dataloader.copy()
    held_cfg.dataset.ann_file = 'val/' + ANN
    held_cfg.dataset.data_prefix = dict(img='val/images/')
    held_out = evaluate(model, Runner.build_dataloader(held_cfg))
    print(f'\nMEInst small config, {iters} iterations: mean mask IoU {np.mean(ious):.3f} on '
          f'{len(ious)} training objects, {np.mean(held_out):.3f} on {len(held_out)} '
          'held-out objects')
    assert len(ious) >= 30
    assert np.mean(ious) >= 0.7, f'mean mask IoU {np.mean(ious):.3f} over {len(ious)} objects'
