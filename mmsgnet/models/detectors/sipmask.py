"""SipMask detector: backbone + FPN + :class:`SipMaskHead` + :class:`SipMaskMaskHead`."""
from mmdet.models.detectors.single_stage_instance_seg import SingleStageInstanceSegmentor
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType
from ..utils.head_consistency import check_heads, derive_head_cfgs


@MODELS.register_module()
class SipMask(SingleStageInstanceSegmentor):
    """SipMask (Cao et al., ECCV 2020), a one-stage instance segmentor.

    Same interface as mmdet's ``SingleStageInstanceSegmentor``: the bbox head finds boxes and
    per-location spatial coefficients; the mask head assembles the masks of its positives
    (training) or of the kept detections (inference). At build time the two heads must agree
    on the grid, the number of basis masks, the basis levels and the basis stride
    (:mod:`mmsgnet.models.utils.head_consistency`): a value set on one head only is copied to
    the other, a conflict raises a ``ValueError`` naming both config keys.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: OptConfigType = None,
                 bbox_head: OptConfigType = None,
                 mask_head: OptConfigType = None,
                 **kwargs) -> None:
        bbox_head, mask_head = derive_head_cfgs(bbox_head, mask_head)
        super().__init__(backbone, neck=neck, bbox_head=bbox_head, mask_head=mask_head,
                         **kwargs)
        check_heads(self.bbox_head, self.mask_head)
