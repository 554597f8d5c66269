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
Everything else (backbone, neck, towers, scales) keeps its name. The layers of the authors'
video heads (track_convs, sipmask_track, fovea_track) are dropped (reported). Nothing is
written if a key is unknown, or, with ``--config``, if the result does not match the model
(see :mod:`mmsgnet.utils.model_convert`). The result is a plain
``{'state_dict': ..., 'meta': {...}}`` file loadable with ``load_from`` / ``tools/test.py``.
"""
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmsgnet.utils import model_convert  # noqa: E402

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


def convert_state_dict(state_dict):
    """Returns a :class:`~mmsgnet.utils.model_convert.Conversion` (converted, dropped
    video-only keys, unmatched keys)."""
    return model_convert.convert_state_dict(state_dict, RULES, VIDEO_ONLY)


def main(argv=None):
    return model_convert.run_converter(__doc__.split('\n')[1], RULES, VIDEO_ONLY, argv)


if __name__ == '__main__':
    sys.exit(main())
