"""Shared core of the checkpoint converters (``tools/model_converters/*_to_mmsgnet.py``).

A converter is a list of key rules (regex -> replacement) plus, optionally, a pattern of
source keys that are known not to exist in our model (e.g. video-only layers). This module
loads the source checkpoint safely, renames the keys, checks them (and, with ``--config``,
checks them against the model the config builds) and writes the result atomically. Nothing is
written unless the conversion is complete: every source key is either converted or a known
drop, at least one key is converted, and with ``--config`` no key is missing, unexpected or
of the wrong shape.
"""
import argparse
import os.path as osp
import re
import sys
import zipfile
from collections import OrderedDict
from typing import Callable, List, Optional, Pattern, Sequence, Tuple, Union

import numpy as np
import torch

from .atomic import write_atomically

Rule = Tuple[str, Union[str, Callable]]
#: a rule list, or a function from a source key to our key (None: unknown)
Rules = Union[Sequence[Rule], Callable[[str], Optional[str]]]


class CheckpointConversionError(RuntimeError):
    """The source checkpoint cannot be converted (the message says why and what to do)."""


def convert_key(key: str, rules: Rules) -> Optional[str]:
    """Our name for a source key: the first matching rule wins; None if no rule matches."""
    if callable(rules):
        return rules(key)
    for pattern, repl in rules:
        if re.match(pattern, key):
            return re.sub(pattern, repl, key, count=1)
    return None


class Conversion:
    """Result of :func:`convert_state_dict`: ``converted`` (ours, ordered), ``dropped``
    (known source keys without a counterpart) and ``unmatched`` (unknown source keys)."""

    def __init__(self, converted: 'OrderedDict', dropped: List[str], unmatched: List[str],
                 total: int) -> None:
        self.converted, self.dropped, self.unmatched, self.total = (converted, dropped,
                                                                    unmatched, total)


def convert_state_dict(state_dict: dict, rules: Rules,
                       drop: Optional[Pattern] = None) -> Conversion:
    """Rename every key of ``state_dict`` with ``rules``; keys matching ``drop`` are known
    drops; two source keys mapping to one name is an error."""
    converted, dropped, unmatched, sources = OrderedDict(), [], [], {}
    for key, value in state_dict.items():
        if drop is not None and drop.match(key):
            dropped.append(key)
            continue
        new_key = convert_key(key, rules)
        if new_key is None:
            unmatched.append(key)
            continue
        if new_key in converted:
            raise CheckpointConversionError(
                f'source keys {sources[new_key]!r} and {key!r} both map to {new_key!r}: the '
                'checkpoint is not from the model this converter is for')
        converted[new_key], sources[new_key] = value, key
    return Conversion(converted, dropped, unmatched, len(state_dict))


def _is_damaged(path: str) -> bool:
    """True when the file is neither an intact zip (torch >= 1.6 format) nor a pickle."""
    with open(path, 'rb') as f:
        head = f.read(4)
    if head.startswith(b'PK'):
        if not zipfile.is_zipfile(path):
            return True  # truncated: the central directory at the end is gone
        try:
            with zipfile.ZipFile(path) as zf:
                return zf.testzip() is not None
        except (zipfile.BadZipFile, OSError, EOFError):
            return True
    return not head.startswith(b'\x80')  # legacy torch files and pickles start with PROTO


def load_source_checkpoint(path: str, trust: bool = False) -> 'OrderedDict':
    """The state dict of a checkpoint file (``state_dict`` or detectron2's ``model`` entry,
    or a plain dict of tensors; numpy arrays become tensors).

    Loads with ``weights_only=True`` unless ``trust``; mmengine checkpoints (message hub
    history buffers, numpy scalars) load through mmsgnet's allow-list.

    Raises:
        CheckpointConversionError: missing file, damaged file, a restricted-unpickler refusal
            (suggests ``--trust-checkpoint``), or content that is not a state dict.
    """
    if not osp.isfile(path):
        raise CheckpointConversionError(f'checkpoint not found: {path}')
    from .checkpoint import setup_checkpoint_loading
    setup_checkpoint_loading()
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=not trust)
    except Exception as err:
        if isinstance(err, (EOFError, zipfile.BadZipFile)) or 'PytorchStreamReader' in str(err) \
                or _is_damaged(path):
            raise CheckpointConversionError(
                f'{path} is damaged (truncated or corrupt: {type(err).__name__}: {err}); '
                'download or copy it again') from err
        if trust:
            raise CheckpointConversionError(f'could not load {path}: {err}') from err
        raise CheckpointConversionError(
            f'could not load {path} with weights_only=True ({err}). If you trust this file, '
            'rerun with --trust-checkpoint to unpickle it fully.') from err
    if isinstance(ckpt, torch.Tensor):
        raise CheckpointConversionError(
            f'{path} holds a single tensor, not a state dict (a dict of named tensors); pass '
            'the checkpoint saved with the model')
    if not isinstance(ckpt, dict):
        raise CheckpointConversionError(
            f'{path} holds a {type(ckpt).__name__}, not a checkpoint dict (expected a state '
            "dict, or a dict with 'state_dict' or 'model')")
    for key in ('state_dict', 'model'):
        if isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
            break
    state_dict = OrderedDict()
    for key, value in ckpt.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
        if not isinstance(value, torch.Tensor):
            raise CheckpointConversionError(
                f'{path}: entry {key!r} is a {type(value).__name__}, not a tensor; this is not '
                "a state dict (expected a dict of tensors, or one under 'state_dict' / "
                "'model')")
        state_dict[key] = value
    if not state_dict:
        raise CheckpointConversionError(f'{path} holds an empty state dict')
    return state_dict


def compare_with_model(state_dict: dict, config: str) -> Tuple[List[str], List[str], List[str]]:
    """Keys missing from / unexpected by / of another shape than the model built from
    ``config`` (random init, no pretrained download)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmsgnet  # noqa: F401
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if cfg.model.get('backbone') is not None:
        cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    own = model.state_dict()
    # BN's num_batches_tracked carries no weights (mmdet's BN has it, detectron2's not)
    missing = [k for k in own if k not in state_dict and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [k for k in state_dict if k in own and own[k].shape != state_dict[k].shape]
    return missing, unexpected, mismatched


def save_checkpoint_atomic(state_dict: dict, dst: str, meta: dict) -> None:
    """``{'state_dict', 'meta'}`` written to a temp file next to ``dst``, then renamed."""
    write_atomically(dst, lambda f: torch.save({'state_dict': state_dict, 'meta': meta}, f))


def check_conversion(conv: Conversion, src: str) -> None:
    """Refuse an incomplete conversion (named error listing the offending keys)."""
    if not conv.converted:
        raise CheckpointConversionError(
            f'0 of {conv.total} keys of {src} were converted: it is not a checkpoint of the '
            'model this converter is for (or already in mmsgnet names)')
    if conv.unmatched:
        shown = '\n  '.join(conv.unmatched[:20])
        raise CheckpointConversionError(
            f'{len(conv.unmatched)} of {conv.total} keys of {src} are unknown to the converter '
            f'(nothing written):\n  {shown}')


def run_converter(description: str, rules: Rules, drop: Optional[Pattern] = None,
                  argv=None, add_arguments: Optional[Callable] = None,
                  extra_state: Optional[Callable] = None) -> int:
    """The converters' command line: ``SRC DST [--config CFG] [--trust-checkpoint]``.

    ``add_arguments(parser)`` may add options; ``extra_state(args, converted)`` may return
    tensors to add to the converted state dict (e.g. the MEInst components). Prints every
    dropped / unmatched / missing key; returns 0 when the file was written, 1 (writing
    nothing) otherwise.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='source checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint for mmsgnet')
    parser.add_argument('--config', help='mmsgnet config to check the converted keys against '
                        '(recommended: nothing is written on any mismatch)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load with full unpickling (only for files you trust)')
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        state_dict = load_source_checkpoint(args.src, args.trust_checkpoint)
        conv = convert_state_dict(state_dict, rules, drop)
        print(f'converted {len(conv.converted)} of {conv.total} keys')
        for key in conv.dropped:
            print(f'  dropped (known, not in this model): {key}')
        for key in conv.unmatched:
            print(f'  unmatched: {key}')
        check_conversion(conv, args.src)
        if extra_state is not None:
            conv.converted.update(extra_state(args, conv.converted))
        if args.config:
            missing, unexpected, mismatched = compare_with_model(conv.converted, args.config)
            for name, keys in (('missing in checkpoint', missing),
                               ('not in model', unexpected), ('shape mismatch', mismatched)):
                for key in keys:
                    print(f'  {name}: {key}')
            print(f'against {args.config}: {len(missing)} missing, {len(unexpected)} '
                  f'unexpected, {len(mismatched)} shape mismatches')
            if missing or unexpected or mismatched:
                raise CheckpointConversionError(
                    f'the converted keys do not match the model of {args.config} (see above); '
                    'nothing written. Check that the config is the variant the checkpoint was '
                    'trained as (backbone depth, DCN, heads)')
        save_checkpoint_atomic(conv.converted, args.dst,
                               {'converted_from': osp.basename(args.src)})
    except CheckpointConversionError as err:
        print(f'error: {err}', file=sys.stderr, flush=True)
        return 1
    print(f'saved {args.dst}')
    return 0
