"""Image models (SipMask, and every image config of this repository) run through mmdet's own
``DetInferencer`` unchanged: our test pipelines keep ``LoadImageFromFile`` (which the
inferencer swaps for its array/path loader), our heads return mmdet's ``InstanceData``, and
``import mmsgnet`` (run by the configs' ``custom_imports``) registers the plugin and makes
mmengine checkpoints loadable under torch >= 2.6.

``DetInferencer`` cannot do three things, which :func:`image_inferencer` adds before handing
over: refuse a checkpoint that does not fit the config (mmdet loads it non-strictly and warns),
refuse a video config, and take the class names from the config when the checkpoint has none
(mmdet falls back to the 80 COCO names).
"""
from typing import Optional

from .model_loading import (InferenceError, check_device, checkpoint_mismatch, class_names,
                            default_device, load_config, read_checkpoint)


def image_inferencer(config, checkpoint: Optional[str] = None, device: Optional[str] = None,
                     **kwargs):
    """mmdet's ``DetInferencer`` for an image config of this repository.

    Args:
        config (str): Image config file (e.g. ``configs/sipmask/sipmask_r18_fpn_gn-head_
            generated-coco.py``).
        checkpoint (str, optional): Weights trained with it; refused, naming keys, when they
            do not fit. None keeps random weights.
        device (str, optional): Torch device; default ``cuda:0`` if available, else ``cpu``.
        **kwargs: Passed to ``DetInferencer`` (e.g. ``palette``, ``show_progress``).

    Returns:
        mmdet.apis.DetInferencer: Call it as mmdet documents, e.g.
        ``inferencer('demo.jpg', out_dir='outputs/', pred_score_thr=0.3)``.
    """
    from mmdet.apis import DetInferencer
    from mmdet.registry import MODELS
    cfg = load_config(config, video=False)
    device = check_device(device or default_device())
    meta = {}
    if checkpoint is not None:
        state_dict, meta = read_checkpoint(checkpoint)
        problem = checkpoint_mismatch(MODELS.build(cfg.model).state_dict(), state_dict)
        if problem:
            raise InferenceError(
                f'checkpoint {checkpoint} does not match the config: {problem}; pass the '
                'checkpoint trained with this config, or the config it was trained with')
    inferencer = DetInferencer(model=cfg, weights=checkpoint, device=device, scope='mmdet',
                               **kwargs)
    classes = class_names(cfg, meta)
    if classes:
        inferencer.model.dataset_meta = dict(inferencer.model.dataset_meta or {},
                                             classes=tuple(classes))
        inferencer.visualizer.dataset_meta = inferencer.model.dataset_meta
    return inferencer
