"""Convert AdelaiDet (detectron2) MEInst checkpoints to mmsgnet.

    python tools/model_converters/meinst_to_mmsgnet.py IN.pth OUT.pth [--config CFG]
        [--components COMPONENTS.npz]

Key mapping (AdelaiDet -> ours; the head is ``proposal_generator.MEInst_head``, towers are
``nn.Sequential`` of (conv, GroupNorm, ReLU), so conv ``3i`` / GN ``3i + 1`` is conv ``i``):
  backbone.bottom_up.stem.conv1(.norm)          -> backbone.conv1 / backbone.bn1
  backbone.bottom_up.res{k}.{j}.conv{m}(.norm)  -> backbone.layer{k-1}.{j}.conv{m} / bn{m}
  backbone.bottom_up.res{k}.{j}.shortcut(.norm) -> backbone.layer{k-1}.{j}.downsample.0 / 1
  backbone.fpn_lateral{s} / fpn_output{s}       -> neck.lateral_convs / fpn_convs.{s-3}.conv
  backbone.top_block.p6 / p7                    -> neck.fpn_convs.3.conv / fpn_convs.4.conv
  <head>.{cls,bbox,mask}_tower.{3i}             -> bbox_head.{cls,reg,mask}_convs.{i}.conv
  <head>.{cls,bbox,mask}_tower.{3i+1}           -> bbox_head.{cls,reg,mask}_convs.{i}.gn
  <head>.*_tower.{3i}.conv / .offset (DFConv2d) -> *_convs.{i}.conv / .conv.conv_offset (DCNv1)
  <head>.cls_logits / bbox_pred / ctrness       -> bbox_head.conv_cls / conv_reg / conv_centerness
  <head>.mask_pred                              -> bbox_head.conv_mask
  <head>.mask_pred.conv_l1 / l2 / r1 / r2 (LK)  -> bbox_head.conv_mask.path_a.0 / a.1 / b.0 / b.1
  <head>.scales.{i}.scale                       -> bbox_head.scales.{i}.scale
  proposal_generator.*mask_encoding.components / explained_variance(s) / mean(s)
                                                -> mask_head.components / explained_variance / mean
``pixel_mean`` / ``pixel_std`` are dropped (the config's data preprocessor holds them).
``--components`` puts the PCA buffers of an ``.npz`` (ours or AdelaiDet's) into the result, for
checkpoints that do not carry them. Nothing is written if a key is unknown, or, with
``--config`` (recommended), if the result does not match the model.
"""
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmsgnet.utils import model_convert  # noqa: E402

HEAD = r'^proposal_generator\.MEInst_head\.'
TOWERS = {'cls': 'cls_convs', 'bbox': 'reg_convs', 'mask': 'mask_convs'}


def _tower(m):
    tower, index, rest = TOWERS[m.group(1)], int(m.group(2)), m.group(3)
    conv, part = divmod(index, 3)
    if part == 0:  # the conv (plain, or DFConv2d with .conv / .offset)
        if rest.startswith('conv.'):
            return f'bbox_head.{tower}.{conv}.conv.{rest[len("conv."):]}'
        if rest.startswith('offset.'):
            return f'bbox_head.{tower}.{conv}.conv.conv_offset.{rest[len("offset."):]}'
        return f'bbox_head.{tower}.{conv}.conv.{rest}'
    if part == 1:  # GroupNorm
        return f'bbox_head.{tower}.{conv}.gn.{rest}'
    return None  # ReLU has no parameters


RULES = [
    (r'^backbone\.bottom_up\.stem\.conv1\.norm\.', 'backbone.bn1.'),
    (r'^backbone\.bottom_up\.stem\.conv1\.', 'backbone.conv1.'),
    (r'^backbone\.bottom_up\.res(\d)\.(\d+)\.conv(\d)\.norm\.',
     lambda m: f'backbone.layer{int(m.group(1)) - 1}.{m.group(2)}.bn{m.group(3)}.'),
    (r'^backbone\.bottom_up\.res(\d)\.(\d+)\.conv(\d)\.',
     lambda m: f'backbone.layer{int(m.group(1)) - 1}.{m.group(2)}.conv{m.group(3)}.'),
    (r'^backbone\.bottom_up\.res(\d)\.(\d+)\.shortcut\.norm\.',
     lambda m: f'backbone.layer{int(m.group(1)) - 1}.{m.group(2)}.downsample.1.'),
    (r'^backbone\.bottom_up\.res(\d)\.(\d+)\.shortcut\.',
     lambda m: f'backbone.layer{int(m.group(1)) - 1}.{m.group(2)}.downsample.0.'),
    (r'^backbone\.fpn_lateral(\d)\.',
     lambda m: f'neck.lateral_convs.{int(m.group(1)) - 3}.conv.'),
    (r'^backbone\.fpn_output(\d)\.', lambda m: f'neck.fpn_convs.{int(m.group(1)) - 3}.conv.'),
    (r'^backbone\.top_block\.p6\.', 'neck.fpn_convs.3.conv.'),
    (r'^backbone\.top_block\.p7\.', 'neck.fpn_convs.4.conv.'),
    (HEAD + r'cls_logits\.', 'bbox_head.conv_cls.'),
    (HEAD + r'bbox_pred\.', 'bbox_head.conv_reg.'),
    (HEAD + r'ctrness\.', 'bbox_head.conv_centerness.'),
    (HEAD + r'mask_pred\.conv_l1\.', 'bbox_head.conv_mask.path_a.0.'),
    (HEAD + r'mask_pred\.conv_l2\.', 'bbox_head.conv_mask.path_a.1.'),
    (HEAD + r'mask_pred\.conv_r1\.', 'bbox_head.conv_mask.path_b.0.'),
    (HEAD + r'mask_pred\.conv_r2\.', 'bbox_head.conv_mask.path_b.1.'),
    (HEAD + r'mask_pred\.', 'bbox_head.conv_mask.'),
    (HEAD + r'scales\.(\d+)\.scale$', r'bbox_head.scales.\1.scale'),
    (r'^proposal_generator\.(?:.*\.)?mask_encoding\.components$', 'mask_head.components'),
    (r'^proposal_generator\.(?:.*\.)?mask_encoding\.explained_variances?$',
     'mask_head.explained_variance'),
    (r'^proposal_generator\.(?:.*\.)?mask_encoding\.means?$', 'mask_head.mean'),
]
DROP = re.compile(r'^(pixel_mean|pixel_std)$')
_TOWER_RE = re.compile(HEAD + r'(cls|bbox|mask)_tower\.(\d+)\.(.+)$')


def convert_key(key):
    """Our name for an AdelaiDet key (None: unknown)."""
    m = _TOWER_RE.match(key)
    if m:
        return _tower(m)
    return model_convert.convert_key(key, RULES)


def convert_state_dict(state_dict):
    """Returns a :class:`~mmsgnet.utils.model_convert.Conversion` (converted, dropped,
    unmatched)."""
    return model_convert.convert_state_dict(state_dict, convert_key, DROP)


def add_arguments(parser):
    parser.add_argument('--components', help='.npz (ours or AdelaiDet\'s) whose PCA buffers '
                        'go into the result (for checkpoints without them)')
    parser.add_argument('--num-components', type=int, default=60,
                        help='N of the model (with --components). Default 60')


def extra_state(args, converted):
    if not args.components:
        return {}
    import torch

    from mmsgnet.models.layers.mask_encoding import ComponentsFileError, load_components
    try:
        arrays = load_components(args.components, args.num_components)
    except ComponentsFileError as err:
        raise model_convert.CheckpointConversionError(str(err)) from err
    return {f'mask_head.{k}': torch.from_numpy(v) for k, v in arrays.items()}


def main(argv=None):
    return model_convert.run_converter(__doc__.split('\n')[1], convert_key, DROP, argv,
                                       add_arguments=add_arguments, extra_state=extra_state)


if __name__ == '__main__':
    sys.exit(main())
