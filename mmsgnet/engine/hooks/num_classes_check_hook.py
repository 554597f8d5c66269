"""Refuse a model whose heads predict a different number of classes than the dataset has.

mmdet's ``NumClassCheckHook`` is not in our runtime, checks only when training or validating
(not ``tools/test.py`` / ``test_tracking.py``) and raises a bare ``AssertionError``. With a
head ``num_classes`` larger than the dataset's, training runs silently (the extra outputs are
never positive); with a smaller one, the GT labels beyond it become background.
"""
from typing import List, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS
from ...utils.errors import UserError


class NumClassesMismatchError(UserError, ValueError):
    """A head's ``num_classes`` differs from the number of classes of the dataset."""


def heads_with_num_classes(model) -> List[Tuple[str, int]]:
    """``(module path, num_classes)`` of every submodule with an integer ``num_classes``
    (bbox, mask, track heads, mask re-scoring, ...), except class-agnostic ones (attribute
    ``class_agnostic=True``) and region-proposal heads (always 1 class)."""
    found = []
    for name, module in model.named_modules():
        num_classes = getattr(module, 'num_classes', None)
        if not isinstance(num_classes, int) or isinstance(num_classes, bool):
            continue
        if getattr(module, 'class_agnostic', False) is True or name.endswith('rpn_head'):
            continue
        found.append((name, num_classes))
    return found


@HOOKS.register_module()
class NumClassesCheckHook(Hook):
    """Before training, validation and testing, compare every head's ``num_classes``
    (:func:`heads_with_num_classes`) with the length of the dataset's ``metainfo['classes']``
    and raise a :class:`NumClassesMismatchError` naming both numbers and the config key.

    Added to every config by ``configs/_base_/default_runtime.py`` (``custom_hooks``).
    """

    priority = 'VERY_HIGH'

    def _check(self, runner, split: str) -> None:
        dataset = getattr(runner, f'{split}_dataloader').dataset
        classes = dataset.metainfo.get('classes')
        if classes is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        wrong = [(name, n) for name, n in heads_with_num_classes(model) if n != len(classes)]
        if not wrong:
            return
        heads = '; '.join(f'`model.{name}.num_classes` is {n}' for name, n in wrong)
        shown = tuple(classes) if len(classes) <= 10 else f'{tuple(classes[:10])[:-1]}, ...)'
        raise NumClassesMismatchError(
            f'{heads}, but the {split} dataset ({type(dataset).__name__}) has {len(classes)} '
            f'classes {shown}: the model would '
            + ('never learn its extra classes' if wrong[0][1] > len(classes) else
               'treat the GT of the classes beyond its own as background')
            + f'. Fix: set `model.{wrong[0][0]}.num_classes={len(classes)}` in the config (e.g. '
            f'`--cfg-options model.{wrong[0][0]}.num_classes={len(classes)}`), or the '
            "dataset's `metainfo=dict(classes=...)` to the model's classes.")

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')
