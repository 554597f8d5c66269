"""MEInst detector: backbone + FPN + :class:`MEInstHead` + :class:`MEInstMaskHead`."""
from mmdet.models.detectors.single_stage_instance_seg import SingleStageInstanceSegmentor
from mmdet.registry import MODELS


@MODELS.register_module()
class MEInst(SingleStageInstanceSegmentor):
    """MEInst (Zhang et al., CVPR 2020): FCOS regresses, per positive location, the PCA code
    of the instance's 28 x 28 box-local mask; the mask head decodes the codes of the kept
    detections. Same interface as mmdet's ``SingleStageInstanceSegmentor``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        predicted, needed = self.bbox_head.num_params, self.mask_head.num_params
        if predicted != needed:
            raise ValueError(
                f'MEInst: the bbox head predicts {predicted} coefficients per location but '
                f'the mask head decodes {needed} (encoding={self.mask_head.encoding!r}): set '
                f'bbox_head.num_params={needed}')
