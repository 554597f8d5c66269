"""FASSST detector: backbone (+ neck) + :class:`FASSSTHead` (IAM) + :class:`FASSSTMaskHead`."""
from typing import Tuple

from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.detectors.single_stage_instance_seg import SingleStageInstanceSegmentor
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList


@MODELS.register_module()
class FASSST(SingleStageInstanceSegmentor):
    """FASSST (Cheng et al., WACV 2022, Fig. 3 / Fig. 7), a one-stage instance segmentor.

    The backbone's outputs are both E (the IAM's input, ``bbox_head.in_index``: the output
    of the "network head", i.e. the first ``head depth`` stages) and the three pyramid mask
    layers (``mask_head.in_indices``). Training and inference are mmdet's
    ``SingleStageInstanceSegmentor``: the IAM's positive cells (training) or its kept
    detections (inference) are the mask head's RoIs.

    Tensor mode (``_forward``, what mmengine's complexity counter and mmdet's ``get_flops``
    run) needs no ground truth: it returns the IAM outputs and the mask logits of all n cells'
    boxes, i.e. the worst case of inference (at most n instances).
    """

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: OptSampleList = None) -> Tuple[Tensor, ...]:
        x = self.extract_feat(batch_inputs)
        cls_scores, bbox_preds = self.bbox_head.forward(x)
        boxes, _ = self.bbox_head.decode(cls_scores, bbox_preds, batch_inputs.shape[-2:])
        infos = [InstanceData(bboxes=b) for b in boxes]
        mask_logits = self.mask_head.forward(x, infos)[0]
        return cls_scores, bbox_preds, mask_logits
