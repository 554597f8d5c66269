"""Mask heads that blend base masks with per-instance, per-sub-region parameters.

Shared by SipMask (:class:`SipMaskMaskHead`) and SG-Net (:class:`SGNetMaskHead`): a subclass
builds its base masks in ``forward`` and owns a :class:`GranularityBlender`
(``self.blender``); this class computes the mask loss on exactly the in-box pixels of each
positive's predicted box (BCE divided by the box's pixel count, with SipMask's mask alignment
weighting as an option) and pastes the masks of the kept detections at the image size.
"""
from typing import List

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.dense_heads.base_mask_head import BaseMaskHead
from mmdet.utils import InstanceList
from ...utils.errors import ConfigError
from ..utils import masks_to_grid, paste_masks_to_image

MASK_WEIGHTINGS = ('none', 'cls', 'loc', 'cls+loc')


class BlenderMaskHead(BaseMaskHead):
    """Base class. Subclasses set ``blender``, ``num_coeff_channels`` (the first channels of
    the bbox head's ``params`` that are blending coefficients), ``mask_weighting``,
    ``max_masks_to_train``, ``min_box_area``, ``loss_mask_weight``, ``rescoring`` (a
    module or None; an instance attribute, since nn.Module registers sub-modules there),
    ``test_cfg``, and implement ``forward(x, positive_infos) -> (bases, )`` with bases
    (B, C, H, W) at ``blender.base_stride``."""

    #: keep each detection's ``params`` and ``priors`` in the predictions (set by VIS models)
    return_params = False

    @staticmethod
    def _check_upsample_factor(upsample_factor) -> int:
        if not (isinstance(upsample_factor, int) and upsample_factor >= 1):
            raise ConfigError(
                f'mask_head.upsample_factor must be an integer >= 1 (the base masks are '
                f'upsampled by it), got {upsample_factor!r}. Fix: set it to 1 for no '
                'upsampling, or to a factor that divides the stride of the first level.')
        return upsample_factor

    def _check_weighting(self, mask_weighting: str) -> str:
        if mask_weighting not in MASK_WEIGHTINGS:
            raise ValueError(f'mask_weighting must be one of {MASK_WEIGHTINGS}, '
                             f'got {mask_weighting!r}')
        return mask_weighting

    def _coeffs(self, params: Tensor) -> Tensor:
        """(N, P) bbox-head parameters -> (N, cells, d) blending coefficients."""
        coeffs = params[:, :self.num_coeff_channels]
        cells = self.blender.num_cells
        return coeffs.reshape(params.shape[0], cells, self.num_coeff_channels // cells)

    # ------------------------------------------------------------------ training
    def loss_by_feat(self, bases: Tensor, batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict], positive_infos: InstanceList,
                     **kwargs) -> dict:
        """Per image: BCE inside each positive's predicted box, divided by its area, weighted
        by the mask alignment weights; averaged over positives and images."""
        height, width = bases.shape[-2:]
        loss_mask = bases.sum() * 0
        loss_score = bases.sum() * 0 if self.rescoring is not None else None
        for base, gt, info in zip(bases, batch_gt_instances, positive_infos):
            info = self._sample_positives(info)
            if len(info) == 0 or len(gt) == 0:
                continue
            gt_masks = masks_to_grid(
                gt.masks.to_tensor(dtype=torch.float, device=base.device), (height, width))
            coeffs = self._coeffs(info.params)
            pixels = self.blender.box_pixels(info.bboxes, height, width)
            logits = self.blender.blend_logits(base, coeffs, pixels)
            target = gt_masks[info.gt_inds[pixels.inst], pixels.y, pixels.x]
            bce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
            per_inst = bce.new_zeros(len(info)).index_add_(0, pixels.inst, bce)
            per_inst = per_inst / pixels.counts.clamp(min=1)
            weights = self._alignment_weights(info)
            loss_mask = loss_mask + (weights * per_inst).sum() / len(info)
            if self.rescoring is not None:
                with torch.no_grad():
                    probs = self.blender(base, info.bboxes, coeffs)
                loss_score = loss_score + self.rescoring.loss(
                    probs, info.labels, gt_masks[info.gt_inds])
        num_imgs = len(batch_img_metas)
        losses = dict(loss_mask=loss_mask / num_imgs * self.loss_mask_weight)
        if loss_score is not None:
            losses['loss_mask_score'] = loss_score / num_imgs
        return losses

    def _sample_positives(self, info: InstanceData) -> InstanceData:
        boxes = info.bboxes
        area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
        info = info[area > self.min_box_area]
        if 0 <= self.max_masks_to_train < len(info):
            perm = torch.randperm(len(info), device=boxes.device)[:self.max_masks_to_train]
            info = info[perm]
        return info

    def _alignment_weights(self, info: InstanceData) -> Tensor:
        """SipMask Eq. (mask alignment weighting): alpha = cls prob x IoU, mean 1."""
        if self.mask_weighting == 'none':
            return info.ious.new_ones(len(info))
        weights = {'cls': info.cls_probs, 'loc': info.ious,
                   'cls+loc': info.cls_probs * info.ious}[self.mask_weighting]
        return weights / (weights.sum() + 1e-4) * len(info)

    # ----------------------------------------------------------------- inference
    def predict_by_feat(self, bases: Tensor, results_list: InstanceList,
                        batch_img_metas: List[dict], rescale: bool = True,
                        **kwargs) -> InstanceList:
        """Masks of the kept detections, thresholded at ``test_cfg.mask_thr_binary``, at the
        original image size when ``rescale`` (boxes rescaled too)."""
        cfg = self.test_cfg
        outputs = []
        for base, results, img_meta in zip(bases, results_list, batch_img_metas):
            probs = self.blender(base, results.bboxes, self._coeffs(results.params))
            out = InstanceData(bboxes=results.bboxes, scores=results.scores,
                               labels=results.labels)
            if self.return_params:
                out.params, out.priors = results.params, results.priors
            if self.rescoring is not None:
                out.mask_scores = self.rescoring.predict(probs, results.labels) * results.scores
            out.masks, out.bboxes = paste_masks_to_image(
                probs, out.bboxes, img_meta, self.blender.base_stride, rescale,
                cfg.get('mask_thr_binary', 0.4))
            outputs.append(out)
        return outputs
