"""Refuse to test or resume with a checkpoint that lacks weights of the model.

mmengine loads checkpoints with ``strict=False`` and only warns about missing keys, so
``tools/test_tracking.py`` with an image detector's checkpoint evaluates a video model whose
tracking weights are random, and ``--resume`` with it fails later on the optimizer state.
Initialising a model from another one's weights (``load_from`` for training, e.g. a video
model from an image detector) stays allowed.
"""
import re
from typing import Dict, List

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmdet.registry import HOOKS
from ...utils.errors import UserError


class CheckpointMismatchError(UserError, ValueError):
    """A checkpoint given for testing or resuming lacks weights of the model."""


def _top_modules(keys: List[str], depth: int = 2) -> str:
    counts: Dict[str, int] = {}
    for key in keys:
        prefix = '.'.join(key.split('.')[:depth])
        counts[prefix] = counts.get(prefix, 0) + 1
    return ', '.join(f'{prefix}.* ({n})' for prefix, n in list(counts.items())[:6])


@HOOKS.register_module()
class CheckpointCheckHook(Hook):
    """When a checkpoint is loaded to test (``tools/test.py``, ``test_tracking.py``) or to
    resume training, compare its ``state_dict`` with the model's and raise a
    :class:`CheckpointMismatchError` if any weight of the model is missing from it, naming the
    missing modules; an image detector's checkpoint for a video model (keys without the
    ``detector.`` prefix) is named as such. Added to every config by
    ``configs/_base_/default_runtime.py`` (``custom_hooks``).
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        resuming = bool(getattr(runner, '_resume', False))
        testing = not isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        if not (resuming or testing):
            return  # load_from for training initialises from another model on purpose
        state = checkpoint.get('state_dict', checkpoint)
        if not isinstance(state, dict):
            return
        keys = {re.sub(r'^module\.', '', k) for k in state}
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        expected = list(model.state_dict())
        missing = [k for k in expected if k not in keys]
        if not missing:
            return
        action = 'resume training' if resuming else 'test'
        source = getattr(runner, '_load_from', None)
        name = f"Checkpoint '{source}'" if source else 'The checkpoint'
        image_detector = hasattr(model, 'detector') and keys and not any(
            k.startswith('detector.') for k in keys) and any(
            f'detector.{k}' in set(expected) for k in keys)
        if image_detector:
            own = [k for k in missing if not (k.startswith('detector.') and
                                              k[len('detector.'):] in keys)]
            raise CheckpointMismatchError(
                f'{name} holds an image detector (keys such as '
                f"'{sorted(keys)[0]}', without the 'detector.' prefix of "
                f'{type(model).__name__}) and no weights for '
                f"{_top_modules(own) or 'the video parts'}: it cannot {action} the video model "
                f'{type(model).__name__}, whose tracking weights would be random. Fix: use a '
                'checkpoint of this video config; to start a video model from an image '
                'detector, train with `load_from=IMAGE_CKPT` (without --resume).')
        raise CheckpointMismatchError(
            f'{name} lacks {len(missing)} of the {len(expected)} weights of '
            f'{type(model).__name__} ({_top_modules(missing)}): it is not a checkpoint of this '
            f'config, and cannot {action} it (those weights would be random). Fix: use a '
            "checkpoint that this config's training wrote; to initialise a model from another "
            "one's weights, train with `load_from=CKPT` (without --resume).")
