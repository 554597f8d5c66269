"""SipMask detector: backbone + FPN + :class:`SipMaskHead` + :class:`SipMaskMaskHead`."""
from mmdet.models.detectors.single_stage_instance_seg import SingleStageInstanceSegmentor
from mmdet.registry import MODELS


@MODELS.register_module()
class SipMask(SingleStageInstanceSegmentor):
    """SipMask (Cao et al., ECCV 2020), a one-stage instance segmentor.

    Same interface as mmdet's ``SingleStageInstanceSegmentor``: the bbox head finds boxes and
    per-location spatial coefficients; the mask head assembles the masks of its positives
    (training) or of the kept detections (inference).
    """
