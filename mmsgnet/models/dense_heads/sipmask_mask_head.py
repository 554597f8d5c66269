"""SipMask's mask branch (Cao et al., ECCV 2020, Sec. 3.1-3.4).

Contextual basis masks from the regression-tower outputs of P3-P5, the spatial
preservation module (per sub-region coefficients, blended by the shared
:class:`GranularityBlender`), the mask alignment weighting loss, and SipMask++'s optional
mask re-scoring head.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import normal_init
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.dense_heads.base_mask_head import BaseMaskHead
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptConfigType, OptMultiConfig
from ..layers.granularity_blender import GranularityBlender
from ..layers.mask_rescoring import MaskRescoringHead
from ..utils import paste_masks_to_image

MASK_WEIGHTINGS = ('none', 'cls', 'loc', 'cls+loc')


@MODELS.register_module()
class SipMaskMaskHead(BaseMaskHead):
    """Basis masks + spatial preservation + mask alignment weighting loss.

    Args:
        in_channels (int): Channels of each regression-tower feature. Default 256.
        num_levels (int): Levels whose features are concatenated (3: P3-P5 "CBM",
            1: P3 only, the paper's baseline). Must match the bbox head's
            ``mask_feat_levels``.
        basis_channels (int): Channels of the 1x1 fusion conv. Default 512.
        num_bases (int): Basis masks ``m``. Default 32.
        grid_size (int | tuple[int, int]): Sub-regions (rows, cols) of a box. Default 2.
        upsample_factor (int): Bilinear upsampling of the basis masks after the convs
            (4: stride 2 when P3 has stride 8). Default 4.
        base_stride (int): Stride of the basis masks in input pixels. Default 2.
        mask_weighting (str): Mask alignment weighting of the per-instance BCE: 'none',
            'cls' (GT-class probability), 'loc' (IoU of predicted and GT box) or 'cls+loc'
            (their product, the paper's). Renormalised to mean 1 per image.
        max_masks_to_train (int): At most this many positives per image get a mask loss
            (a random subset; -1 for all). Default 300.
        min_box_area (float): Positives whose predicted box area (input pixels^2) is not
            larger than this are skipped (authors: 1 px^2 at stride 2). Default 4.
        loss_mask_weight (float): Weight of the mask loss. Default 1.
        rescoring (dict, optional): Config of the SipMask++ mask re-scoring head
            (:class:`MaskRescoringHead`), e.g. ``dict(num_classes=80)``.
    """

    def __init__(self,
                 in_channels: int = 256,
                 num_levels: int = 3,
                 basis_channels: int = 512,
                 num_bases: int = 32,
                 grid_size=2,
                 upsample_factor: int = 4,
                 base_stride: int = 2,
                 mask_weighting: str = 'cls+loc',
                 max_masks_to_train: int = 300,
                 min_box_area: float = 4.0,
                 loss_mask_weight: float = 1.0,
                 rescoring: Optional[dict] = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mask_weighting not in MASK_WEIGHTINGS:
            raise ValueError(f'mask_weighting must be one of {MASK_WEIGHTINGS}, '
                             f'got {mask_weighting!r}')
        self.num_levels = num_levels
        self.num_bases = num_bases
        self.upsample_factor = upsample_factor
        self.mask_weighting = mask_weighting
        self.max_masks_to_train = max_masks_to_train
        self.min_box_area = min_box_area
        self.loss_mask_weight = loss_mask_weight
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.fuse = nn.Conv2d(in_channels * num_levels, basis_channels, 1)
        self.basis = nn.Conv2d(basis_channels, num_bases, 3, padding=1)
        self.blender = GranularityBlender(
            max_division=grid_size, shared_basis=True, base_stride=base_stride)
        self.rescoring = MaskRescoringHead(**rescoring) if rescoring else None
        self._init_basis()

    def _init_basis(self) -> None:
        normal_init(self.fuse, std=0.01)
        normal_init(self.basis, std=0.01)

    def init_weights(self) -> None:
        super().init_weights()
        self._init_basis()

    def forward(self, x: tuple, positive_infos: InstanceList) -> tuple:
        """Basis masks (B, m, H/s, W/s) from the regression-tower features that the bbox
        head passes along with its positive infos / results (``.mask_feats``)."""
        feats = list(positive_infos.mask_feats[:self.num_levels])
        if len(feats) != self.num_levels:
            raise ValueError(f'the mask head fuses {self.num_levels} levels but the bbox head '
                             f'returned {len(feats)}: set bbox_head.mask_feat_levels='
                             f'{self.num_levels} (or mask_head.num_levels={len(feats)})')
        size = feats[0].shape[-2:]
        feats = [feats[0]] + [
            F.interpolate(f, size=size, mode='bilinear', align_corners=False) for f in feats[1:]
        ]
        bases = F.relu(self.basis(F.relu(self.fuse(torch.cat(feats, dim=1)))))
        bases = F.interpolate(bases, scale_factor=self.upsample_factor, mode='bilinear',
                              align_corners=False)
        return (bases, )

    def _coeffs(self, params: Tensor) -> Tensor:
        return params.reshape(params.shape[0], self.blender.num_cells, self.num_bases)

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
            gt_masks = gt.masks.to_tensor(dtype=torch.float, device=base.device)
            gt_masks = (F.interpolate(gt_masks[None], size=(height, width), mode='bilinear',
                                      align_corners=False)[0] > 0.5).float()
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
            if self.rescoring is not None:
                out.mask_scores = self.rescoring.predict(probs, results.labels) * results.scores
            out.masks, out.bboxes = paste_masks_to_image(
                probs, out.bboxes, img_meta, self.blender.base_stride, rescale,
                cfg.get('mask_thr_binary', 0.4))
            outputs.append(out)
        return outputs
