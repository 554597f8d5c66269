"""Loading a model for inference, with the checks every tool shares: the config describes
the kind of model asked for, the device exists, the checkpoint fits the config key for key
and shape for shape, and the class names come from one place.

As mmdet's ``init_detector`` / ``init_track_model``, but a problem the user can fix raises
:class:`InferenceError` with a message naming the cause and the fix (tools print it and exit
with status 1) instead of loading a half-random model after warnings.
"""
import os.path as osp
import re
from typing import List, Optional, Tuple

from ..utils.errors import UserError

MAX_KEYS_NAMED = 3


class InferenceError(UserError):
    """A problem the user can fix; the message names the cause and the fix."""


def default_device() -> str:
    """``cuda:0`` when torch sees a CUDA device, else ``cpu``."""
    import torch
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def check_device(device: str) -> str:
    """Refuse a CUDA device that torch cannot see (or an index it does not have).

    Returns:
        str: ``device`` unchanged.
    """
    import torch
    if str(device).startswith('cuda'):
        if not torch.cuda.is_available():
            raise InferenceError(f'--device {device} asked for, but torch sees no CUDA device; '
                                 'pass --device cpu')
        index = str(device).partition(':')[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise InferenceError(f'--device {device}: torch sees {torch.cuda.device_count()} '
                                 'CUDA device(s); pass cuda:0 .. cuda:'
                                 f'{torch.cuda.device_count() - 1}')
    return device


def config_path(config: str) -> str:
    """The file of ``config``: ``mmdet::<path>`` names a config shipped in mmdet's wheel
    (``mmdet/.mim/configs/<path>``), as in mmengine's ``_base_`` lists; other paths are
    returned unchanged."""
    config = str(config)
    if config.startswith('mmdet::'):
        import mmdet
        return osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', config[len('mmdet::'):])
    return config


def strip_pretrained(node) -> None:
    """Set every ``init_cfg`` of a config (sub)tree that loads weights (``Pretrained``) to
    None, in place: random init, nothing downloaded."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            strip_pretrained(value)
    elif isinstance(node, list):
        for value in node:
            strip_pretrained(value)


def load_config(path_or_cfg, cfg_options: Optional[dict] = None, video: Optional[bool] = None):
    """The config (a path or a ``Config``) with overrides, registry scope set.

    Args:
        path_or_cfg (str | Config): Config file (``mmdet::`` for mmdet's, see
            :func:`config_path`) or object (not modified).
        cfg_options (dict, optional): ``--cfg-options`` style overrides.
        video (bool, optional): True: refuse a model without a tracker; False: refuse a
            video model; None: accept both.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmsgnet  # noqa: F401  (registers the plugin)
    if isinstance(path_or_cfg, Config):
        cfg, path = path_or_cfg.copy(), path_or_cfg.filename or '<config>'
    else:
        path = config_path(path_or_cfg)
        if not osp.isfile(path):
            raise InferenceError(f'config {path} does not exist; pass a config of this '
                                 'repository, e.g. configs/sgnet/sgnet_r18_fpn_generated-ytvis.py')
        try:
            cfg = Config.fromfile(path)
        except Exception as err:
            raise InferenceError(f'cannot parse config {path}: {err}; fix the file') from err
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = cfg.get('model', {})
    is_video = 'detector' in model and 'tracker' in model
    if video and not is_video:
        raise InferenceError(
            f"config {path} describes a {model.get('type', 'model')} without a tracker, not a "
            'video instance segmentation model; pass a video config (configs/sgnet/*.py or '
            'configs/sipmask_vis/*.py), or use tools/test.py for image models')
    if video is False and is_video:
        raise InferenceError(f'config {path} describes a video model ({model.get("type")}); '
                             'pass an image config (configs/sipmask/*.py), or use '
                             'mmsgnet.apis.VideoInferencer / tools/video_demo.py for videos')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return cfg


def load_vis_config(path_or_cfg, cfg_options: Optional[dict] = None):
    """:func:`load_config` of a video (VIS) config."""
    return load_config(path_or_cfg, cfg_options, video=True)


def _load_error_reason(err: Exception) -> str:
    """The useful line of a ``torch.load`` error (torch's weights-only errors are long)."""
    text = str(err)
    if 'WeightsUnpickler error:' in text:
        text = text.split('WeightsUnpickler error:', 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


def read_checkpoint(path: str) -> Tuple[dict, dict]:
    """(state dict, meta) of a checkpoint file (``module.`` prefixes removed)."""
    from mmengine.runner.checkpoint import _load_checkpoint
    if '://' not in path and not osp.isfile(path):
        raise InferenceError(f'checkpoint {path} does not exist; pass the .pth file trained '
                             'with the config')
    try:
        ckpt = _load_checkpoint(path, map_location='cpu')
    except UserError as err:  # a damaged file, named by mmsgnet.utils.load_checkpoint_file
        raise InferenceError(str(err)) from err
    except Exception as err:
        raise InferenceError(
            f'cannot load checkpoint {path} ({_load_error_reason(err)}): not a torch.save '
            'file, or it holds objects that the weights-only loader refuses; pass a '
            'checkpoint written by tools/train.py or torch.save') from err
    if not isinstance(ckpt, dict):
        raise InferenceError(f'checkpoint {path} holds a {type(ckpt).__name__}, not a state '
                             "dict; save {'state_dict': model.state_dict()} instead")
    state_dict = ckpt.get('state_dict', ckpt)
    state_dict = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    return state_dict, ckpt.get('meta') or {}


def checkpoint_mismatch(model_state: dict, ckpt_state: dict) -> Optional[str]:
    """A sentence naming the keys missing from / unexpected in / of another shape in the
    checkpoint, or None when it fits the model exactly."""
    missing = [k for k in model_state if k not in ckpt_state]
    unexpected = [k for k in ckpt_state if k not in model_state]
    shapes = [f'{k} (checkpoint {tuple(ckpt_state[k].shape)}, model '
              f'{tuple(model_state[k].shape)})' for k in ckpt_state
              if k in model_state and hasattr(ckpt_state[k], 'shape')
              and tuple(ckpt_state[k].shape) != tuple(model_state[k].shape)]
    parts = [f'{len(keys)} {what} (e.g. {", ".join(keys[:MAX_KEYS_NAMED])})'
             for what, keys in (('missing keys', missing), ('unexpected keys', unexpected),
                                ('shape mismatches', shapes)) if keys]
    if not parts:
        return None
    if any(k.startswith('detector.') for k in model_state) and not any(
            k.startswith('detector.') for k in ckpt_state):
        parts.append('it looks like an image model\'s checkpoint (no detector.* keys)')
    return '; '.join(parts)


def class_names(cfg, meta: Optional[dict] = None) -> Optional[List[str]]:
    """Class names: the checkpoint's ``meta.dataset_meta``, else the config's test dataset
    (``metainfo.classes``, else the class list of its ``dataset_version``)."""
    from mmsgnet.datasets import vis_class_names
    dataset_meta = (meta or {}).get('dataset_meta') or {}
    classes = dataset_meta.get('classes') or dataset_meta.get('CLASSES')
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    if not classes:
        classes = (dataset.get('metainfo') or {}).get('classes')
    if not classes and dataset.get('dataset_version'):
        try:
            classes = vis_class_names(dataset['dataset_version'])
        except ValueError:
            classes = None
    return list(classes) if classes else None


def init_model(config, checkpoint: Optional[str] = None, device: Optional[str] = None,
               cfg_options: Optional[dict] = None, video: Optional[bool] = None):
    """Build the model of ``config`` (eval mode, on ``device``) with the weights of
    ``checkpoint``, refusing a checkpoint that does not fit the config exactly.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Weights; None keeps the random initialisation.
        device (str, optional): Torch device; default :func:`default_device`.
        cfg_options (dict, optional): Config overrides.
        video (bool, optional): As for :func:`load_config`.

    Returns:
        nn.Module: The model, with ``cfg`` (the config) and ``dataset_meta``
        (``dict(classes=...)``, classes may be None) set as attributes.
    """
    from mmdet.registry import MODELS
    cfg = load_config(config, cfg_options, video)
    device = check_device(device or default_device())
    state_dict, meta = read_checkpoint(checkpoint) if checkpoint else (None, {})
    model = MODELS.build(cfg.model)
    if video:
        from mmdet.models.mot import BaseMOTModel
        if not isinstance(model, BaseMOTModel):
            raise InferenceError(f'the config builds a {type(model).__name__}, not a video '
                                 'model (BaseMOTModel); pass a video config')
    if state_dict is not None:
        problem = checkpoint_mismatch(model.state_dict(), state_dict)
        if problem:
            raise InferenceError(
                f'checkpoint {checkpoint} does not match the config: {problem}; pass the '
                'checkpoint trained with this config, or the config it was trained with')
        model.load_state_dict(state_dict, strict=True)
    model.cfg = cfg
    model.dataset_meta = dict(classes=class_names(cfg, meta))
    return model.to(device).eval()


def init_vis_model(config, checkpoint: Optional[str] = None, device: Optional[str] = None,
                   cfg_options: Optional[dict] = None):
    """:func:`init_model` of a video (VIS) config: SG-Net, SipMask-VIS (mmdet's
    ``init_track_model``, with the checks)."""
    return init_model(config, checkpoint, device, cfg_options, video=True)
