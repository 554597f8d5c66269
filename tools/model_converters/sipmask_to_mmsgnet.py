"""Convert the authors' released SipMask checkpoints (mmdetection v1.x) to mmsgnet.

    python tools/model_converters/sipmask_to_mmsgnet.py IN.pth OUT.pth [--config CFG]

Key mapping (authors -> ours):
  bbox_head.fcos_cls / fcos_reg / fcos_centerness -> bbox_head.conv_cls / conv_reg / conv_centerness
  bbox_head.feat_align.*                          -> bbox_head.align.*
  bbox_head.sip_cof                               -> bbox_head.conv_coeff
  bbox_head.sip_mask_lat0 / sip_mask_lat          -> mask_head.fuse / mask_head.basis
  bbox_head.convs_scoring.{i}.conv                -> mask_head.rescoring.convs.{2i}
  bbox_head.mask_scoring                          -> mask_head.rescoring.conv_iou
  backbone.layerX.Y.conv2_offset (DCN)            -> backbone.layerX.Y.conv2.conv_offset
Everything else (backbone, neck, towers, scales) keeps its name. Every key that is not
mapped onto the model (with ``--config``) or that the mapping does not know is reported.
The result is a plain ``{'state_dict': ..., 'meta': {...}}`` file loadable with
``load_from`` / ``tools/test.py``.
"""
import argparse
import os
import os.path as osp
import re
import sys
import tempfile
from collections import OrderedDict

import torch

RULES = [
    (r'^bbox_head\.fcos_cls\.', 'bbox_head.conv_cls.'),
    (r'^bbox_head\.fcos_reg\.', 'bbox_head.conv_reg.'),
    (r'^bbox_head\.fcos_centerness\.', 'bbox_head.conv_centerness.'),
    (r'^bbox_head\.feat_align\.', 'bbox_head.align.'),
    (r'^bbox_head\.sip_cof\.', 'bbox_head.conv_coeff.'),
    (r'^bbox_head\.sip_mask_lat0\.', 'mask_head.fuse.'),
    (r'^bbox_head\.sip_mask_lat\.', 'mask_head.basis.'),
    (r'^bbox_head\.convs_scoring\.(\d+)\.conv\.',
     lambda m: f'mask_head.rescoring.convs.{2 * int(m.group(1))}.'),
    (r'^bbox_head\.mask_scoring\.', 'mask_head.rescoring.conv_iou.'),
    (r'^(backbone\.layer\d+\.\d+)\.conv2_offset\.', r'\1.conv2.conv_offset.'),
    (r'^(backbone|neck)\.', r'\1.'),
    (r'^bbox_head\.(cls_convs|reg_convs|scales)\.', r'bbox_head.\1.'),
]
# layers of the authors' video heads that SipMask (image) does not have
VIDEO_ONLY = re.compile(r'^bbox_head\.(track_convs|sipmask_track|fovea_track)')


def convert_key(key):
    """Our name for one of the authors' keys, or None if the mapping does not know it."""
    for pattern, repl in RULES:
        if re.match(pattern, key):
            return re.sub(pattern, repl, key, count=1)
    return None


def convert_state_dict(state_dict):
    """Returns (converted state dict, list of the authors' keys that were not mapped)."""
    converted, unmatched = OrderedDict(), []
    for key, value in state_dict.items():
        new_key = None if VIDEO_ONLY.match(key) else convert_key(key)
        if new_key is None:
            unmatched.append(key)
        else:
            converted[new_key] = value
    return converted, unmatched


def compare_with_model(state_dict, config):
    """Keys missing from / unexpected by the model built from ``config`` (random init)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmsgnet  # noqa: F401
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [k for k in state_dict if k in own and own[k].shape != state_dict[k].shape]
    return missing, unexpected, mismatched


def load_checkpoint_file(path, trust):
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=not trust)
    except Exception as err:  # the restricted unpickler refused something
        raise RuntimeError(
            f'could not load {path} with weights_only=True ({err}). If you trust this file, '
            'rerun with --trust-checkpoint to unpickle it fully.') from err
    return ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('src', help="the authors' checkpoint (.pth)")
    parser.add_argument('dst', help='output checkpoint for mmsgnet')
    parser.add_argument('--config', help='mmsgnet config to check the converted keys against')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load with full unpickling (only for files you trust)')
    args = parser.parse_args(argv)

    state_dict = load_checkpoint_file(args.src, args.trust_checkpoint)
    converted, unmatched = convert_state_dict(state_dict)
    print(f'converted {len(converted)} of {len(state_dict)} keys')
    for key in unmatched:
        print(f'  unmatched (dropped): {key}')
    problems = 0
    if args.config:
        missing, unexpected, mismatched = compare_with_model(converted, args.config)
        for name, keys in (('missing in checkpoint', missing),
                           ('not in model', unexpected), ('shape mismatch', mismatched)):
            for key in keys:
                print(f'  {name}: {key}')
        problems = len(missing) + len(unexpected) + len(mismatched)
        print(f'against {args.config}: {len(missing)} missing, {len(unexpected)} unexpected, '
              f'{len(mismatched)} shape mismatches')
    out_dir = osp.dirname(osp.abspath(args.dst))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.tmp')
    os.close(fd)
    try:
        torch.save({'state_dict': converted, 'meta': {'converted_from': osp.basename(args.src)}},
                   tmp)
        os.replace(tmp, args.dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    print(f'saved {args.dst}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    sys.exit(main())
