"""FCOS detection that also predicts per-location instance parameters for a mask head.

Shared by SipMask (spatial coefficients) and SG-Net (spatial attention). The FCOS part is
mmdet's: target assignment (``FCOSHead.get_targets``), focal / box / centerness losses and
dense post-processing. What this class adds:

- ``forward`` returns ``(cls_scores, bbox_preds, centernesses, param_preds, mask_feats)``:
  per-level instance parameters ``param_preds`` (B, P, H, W) and the features a mask head
  builds its base masks from (``mask_feats``, a tuple of per-level tensors, maybe empty);
- ``loss_by_feat`` stores, for every positive location, what a mask head needs
  (``get_positive_infos``): the predicted box in input pixels (detached), the index of its
  ground-truth instance, its parameters, the classification probability of the GT class and
  the IoU of predicted and GT box (SipMask's mask alignment weighting);
- ``predict_by_feat`` carries the parameters of every kept detection through NMS, with
  either mmdet's class-wise NMS or YOLACT's FastNMS (``test_cfg.fast_nms``).
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.dense_heads import FCOSHead
from mmdet.models.layers import fast_nms
from mmdet.models.utils import filter_scores_and_topk, multi_apply
from mmdet.structures.bbox import bbox_overlaps
from mmdet.utils import ConfigType, InstanceList, OptInstanceList, reduce_mean


class FeaturedInstanceList(list):
    """A list of per-image ``InstanceData`` that also carries batch-level ``mask_feats``
    (a tuple of (B, C, h, w) tensors) from the bbox head to the mask head. mmdet's
    ``SingleStageInstanceSegmentor`` hands the bbox head's positive infos / results to the
    mask head unchanged, so the features travel with them."""

    def __init__(self, items=(), mask_feats: Sequence[Tensor] = ()) -> None:
        super().__init__(items)
        self.mask_feats = tuple(mask_feats)


class InstanceFCOSHead(FCOSHead):
    """Base class: FCOS + per-location instance parameters (see module docstring).

    Subclasses set ``self.num_params`` (channels of ``param_pred``), ``self.mask_feat_levels``
    (how many of the first levels' ``mask_feat`` to return) and ``self.feature_align`` (with
    ``self.align``, a :class:`FeatureAlign`), and implement ``predict_params(cls_feat,
    ctr_feat)`` (and optionally ``mask_feat(reg_feat)``).
    """

    num_params: int = 0
    mask_feat_levels: int = 0

    def forward(self, x: Tuple[Tensor]) -> tuple:
        """Returns cls_scores, bbox_preds, centernesses, param_preds (lists over levels) and
        mask_feats (tuple of the first ``mask_feat_levels`` levels' mask features)."""
        cls_scores, bbox_preds, centernesses, param_preds, mask_feats = multi_apply(
            self.forward_single, x, self.scales, self.strides)
        return (cls_scores, bbox_preds, centernesses, param_preds,
                tuple(mask_feats[:self.mask_feat_levels]))

    def forward_single(self, x: Tensor, scale, stride: int) -> tuple:
        """One level: cls_score (B, C, H, W), bbox_pred (B, 4, H, W) (stride units in
        training with ``norm_on_bbox``, pixels at inference), centerness (B, 1, H, W),
        params (B, P, H, W) and the level's mask feature (or None)."""
        reg_feat = x
        for conv in self.reg_convs:
            reg_feat = conv(reg_feat)
        bbox_pred = scale(self.conv_reg(reg_feat)).float()
        if self.norm_on_bbox:
            bbox_pred = bbox_pred.clamp(min=0)  # distances in stride units
            box_units = bbox_pred
        else:
            bbox_pred = bbox_pred.exp()
            box_units = bbox_pred / stride
        cls_feat = x
        for conv in self.cls_convs:
            cls_feat = conv(cls_feat)
        ctr_feat = reg_feat if self.centerness_on_reg else cls_feat
        centerness = self.conv_centerness(ctr_feat)
        if self.feature_align:  # box-guided alignment of the classification feature
            cls_feat = self.align(cls_feat, box_units)
        cls_score = self.conv_cls(cls_feat)
        params = self.predict_params(cls_feat, ctr_feat)
        if self.norm_on_bbox and not self.training:
            bbox_pred = bbox_pred * stride
        return cls_score, bbox_pred, centerness, params, self.mask_feat(reg_feat)

    def predict_params(self, cls_feat: Tensor, ctr_feat: Tensor) -> Tensor:
        """Per-location instance parameters (B, num_params, H, W)."""
        raise NotImplementedError

    def mask_feat(self, reg_feat: Tensor):
        """The feature of this level that the mask head reads (None: it reads the FPN)."""
        return None

    # ------------------------------------------------------------------ training
    def _flatten(self, preds: List[Tensor], channels: int) -> Tensor:
        # flatten (not reshape(-1, C)): also valid for C = 0 (a head without parameters)
        return torch.cat([p.permute(0, 2, 3, 1).flatten(0, 2) for p in preds])

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     centernesses: List[Tensor],
                     param_preds: List[Tensor],
                     mask_feats: Sequence[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """FCOS losses (as mmdet's ``FCOSHead``); also records the positives' infos."""
        num_imgs = len(batch_img_metas)
        device = cls_scores[0].device
        featmap_sizes = [s.shape[-2:] for s in cls_scores]
        priors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=bbox_preds[0].dtype, device=device, with_stride=True)
        labels, bbox_targets = self.get_targets([p[:, :2] for p in priors], batch_gt_instances)

        flat_cls = self._flatten(cls_scores, self.cls_out_channels)
        flat_bbox = self._flatten(bbox_preds, 4)
        flat_ctr = self._flatten(centernesses, 1).reshape(-1)
        flat_params = self._flatten(param_preds, self.num_params)
        flat_labels = torch.cat(labels)
        flat_bbox_targets = torch.cat(bbox_targets)
        flat_priors = torch.cat([p.repeat(num_imgs, 1) for p in priors])
        flat_img_inds = torch.cat([
            torch.arange(num_imgs, device=device).repeat_interleave(len(p)) for p in priors])

        pos_inds = ((flat_labels >= 0) & (flat_labels < self.num_classes)).nonzero().reshape(-1)
        num_pos = max(reduce_mean(flat_cls.new_tensor(float(len(pos_inds)))).item(), 1.0)
        loss_cls = self.loss_cls(flat_cls, flat_labels, avg_factor=num_pos)

        pos_bbox_preds = flat_bbox[pos_inds]
        pos_ctr = flat_ctr[pos_inds]
        pos_bbox_targets = flat_bbox_targets[pos_inds]
        pos_priors = flat_priors[pos_inds]
        pos_ctr_targets = self.centerness_target(pos_bbox_targets)
        ctr_denorm = max(reduce_mean(pos_ctr_targets.sum().detach()).item(), 1e-6)
        if len(pos_inds) > 0:
            pos_points = pos_priors[:, :2]
            loss_bbox = self.loss_bbox(
                self.bbox_coder.decode(pos_points, pos_bbox_preds),
                self.bbox_coder.decode(pos_points, pos_bbox_targets),
                weight=pos_ctr_targets, avg_factor=ctr_denorm)
            loss_centerness = self.loss_centerness(pos_ctr, pos_ctr_targets, avg_factor=num_pos)
        else:
            loss_bbox = pos_bbox_preds.sum()
            loss_centerness = pos_ctr.sum()

        self._record_positives(pos_inds, flat_img_inds, pos_priors, pos_bbox_preds,
                               pos_bbox_targets, flat_cls, flat_labels, flat_params,
                               mask_feats, batch_gt_instances, num_imgs)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_centerness=loss_centerness)

    def _record_positives(self, pos_inds, flat_img_inds, pos_priors, pos_bbox_preds,
                          pos_bbox_targets, flat_cls, flat_labels, flat_params, mask_feats,
                          batch_gt_instances, num_imgs) -> None:
        scale = pos_priors[:, 2:4].repeat(1, 2) if self.norm_on_bbox else 1.0
        points = pos_priors[:, :2]
        pred_boxes = self.bbox_coder.decode(points, pos_bbox_preds.detach() * scale)
        gt_boxes = self.bbox_coder.decode(points, pos_bbox_targets * scale)
        pos_labels = flat_labels[pos_inds]
        cls_probs = flat_cls[pos_inds, pos_labels].detach().sigmoid()
        ious = bbox_overlaps(pred_boxes, gt_boxes, is_aligned=True).detach()
        img_inds = flat_img_inds[pos_inds]
        self._raw_positive_infos = dict(
            img_inds=img_inds, bboxes=pred_boxes, gt_bboxes=gt_boxes, labels=pos_labels,
            params=flat_params[pos_inds], cls_probs=cls_probs, ious=ious, priors=pos_priors,
            ctr_targets=self.centerness_target(pos_bbox_targets),
            pos_inds=pos_inds, mask_feats=mask_feats, batch_gt_instances=batch_gt_instances,
            num_imgs=num_imgs)

    def get_positive_infos(self) -> Optional[InstanceList]:
        """Per image, an ``InstanceData`` of its positive locations with ``bboxes`` (predicted,
        input pixels, detached), ``gt_inds``, ``labels``, ``params``, ``cls_probs``, ``ious``,
        ``priors`` (x, y, stride_w, stride_h), ``ctr_targets`` (FCOS centerness targets), as a
        :class:`FeaturedInstanceList`."""
        raw = self._raw_positive_infos
        if not raw:
            return None
        infos = FeaturedInstanceList(mask_feats=raw['mask_feats'])
        for i in range(raw['num_imgs']):
            keep = raw['img_inds'] == i
            gt = raw['batch_gt_instances'][i]
            gt_inds = _match_gt_boxes(raw['gt_bboxes'][keep], raw['labels'][keep],
                                      gt.bboxes, gt.labels)
            info = InstanceData()
            info.bboxes = raw['bboxes'][keep]
            info.gt_inds = gt_inds
            for key in ('labels', 'params', 'cls_probs', 'ious', 'priors', 'pos_inds',
                        'ctr_targets'):
                info[key] = raw[key][keep]
            infos.append(info)
        return infos

    # ----------------------------------------------------------------- inference
    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        score_factors: List[Tensor],
                        param_preds: List[Tensor],
                        mask_feats: Sequence[Tensor],
                        batch_img_metas: List[dict],
                        cfg: Optional[ConfigType] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Dense post-processing; every result carries ``params`` and ``priors`` of its
        location; the list (a :class:`FeaturedInstanceList`) carries ``mask_feats``."""
        cfg = ConfigDict(self.test_cfg if cfg is None else cfg)
        featmap_sizes = [s.shape[-2:] for s in cls_scores]
        priors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device,
            with_stride=True)
        results_list = FeaturedInstanceList(mask_feats=mask_feats)
        for i, img_meta in enumerate(batch_img_metas):
            results = self._predict_single(
                [s[i].detach() for s in cls_scores], [b[i].detach() for b in bbox_preds],
                [c[i].detach() for c in score_factors], [p[i].detach() for p in param_preds],
                priors, img_meta, cfg, rescale, with_nms)
            results_list.append(results)
        return results_list

    def _predict_single(self, cls_scores, bbox_preds, centernesses, param_preds, priors,
                        img_meta, cfg, rescale, with_nms) -> InstanceData:
        use_fast_nms = 'fast_nms' in cfg
        nms_pre = cfg.get('nms_pre', -1)
        boxes, scores, labels, ctrs, params, locs = [], [], [], [], [], []
        for cls_score, bbox_pred, ctr, param, prior in zip(cls_scores, bbox_preds,
                                                           centernesses, param_preds, priors):
            cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
            ctr = ctr.permute(1, 2, 0).reshape(-1).sigmoid()
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            param = param.permute(1, 2, 0).flatten(0, 1)
            if use_fast_nms:
                # SipMask's real-time path: rank locations by max(cls x centerness)
                cls_score = cls_score * ctr[:, None]
                if 0 < nms_pre < cls_score.shape[0]:
                    keep = cls_score.max(dim=1)[0].topk(nms_pre)[1]
                    cls_score, bbox_pred, ctr = cls_score[keep], bbox_pred[keep], ctr[keep]
                    param, prior = param[keep], prior[keep]
                boxes.append(self.bbox_coder.decode(prior[:, :2], bbox_pred,
                                                    max_shape=img_meta['img_shape']))
                scores.append(cls_score)
                params.append(param)
                locs.append(prior)
                continue
            score, label, _, kept = filter_scores_and_topk(
                cls_score, cfg.score_thr, nms_pre,
                dict(bbox_pred=bbox_pred, param=param, prior=prior, ctr=ctr))
            boxes.append(self.bbox_coder.decode(kept['prior'][:, :2], kept['bbox_pred'],
                                                max_shape=img_meta['img_shape']))
            scores.append(score)
            labels.append(label)
            ctrs.append(kept['ctr'])
            params.append(kept['param'])
            locs.append(kept['prior'])
        boxes, params, locs = torch.cat(boxes), torch.cat(params), torch.cat(locs)
        if use_fast_nms:
            return self._fast_nms(boxes, torch.cat(scores), params, locs, cfg,
                                  img_meta=img_meta, rescale=rescale)
        results = InstanceData(bboxes=boxes, scores=torch.cat(scores), labels=torch.cat(labels),
                               score_factors=torch.cat(ctrs), params=params, priors=locs)
        results = self._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                          img_meta=img_meta)
        results.pop('score_factors', None)
        return results

    def _fast_nms(self, boxes: Tensor, scores: Tensor, params: Tensor, locs: Tensor,
                  cfg: ConfigType, img_meta: Optional[dict] = None,
                  rescale: bool = False) -> InstanceData:
        """YOLACT's FastNMS on cls x centerness scores (SipMask real-time configs).

        As mmdet's ``_bbox_post_process`` before its NMS: with ``rescale`` the boxes are
        divided by ``img_meta['scale_factor']`` (original-image pixels), and boxes whose width
        or height is not larger than ``cfg.min_bbox_size`` (if >= 0) are dropped.
        ``fast_nms.class_agnostic=True`` suppresses across classes: each location competes
        with its best class only (default False: class by class, as the authors)."""
        nms_cfg = cfg.fast_nms
        if rescale:
            boxes = boxes / boxes.new_tensor(img_meta['scale_factor']).repeat(2)
        if cfg.get('min_bbox_size', -1) >= 0:
            widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
            valid = (widths > cfg.min_bbox_size) & (heights > cfg.min_bbox_size)
            boxes, scores, params, locs = boxes[valid], scores[valid], params[valid], locs[valid]
        if len(boxes) == 0:  # mmdet's fast_nms needs at least one box
            return InstanceData(bboxes=boxes, scores=scores.new_zeros(0),
                                labels=scores.new_zeros(0, dtype=torch.long), params=params,
                                priors=locs)
        # carry params and the location (x, y, stride) along through mmdet's fast_nms
        carried = torch.cat([params, locs], dim=1)
        class_agnostic = nms_cfg.get('class_agnostic', False)
        if class_agnostic:
            scores, best_labels = scores.max(dim=1, keepdim=True)
            carried = torch.cat([carried, best_labels.to(carried)], dim=1)
        padded = torch.cat([scores, scores.new_zeros(scores.shape[0], 1)], dim=1)
        det_bboxes, det_labels, det_carried = fast_nms(
            boxes, padded, carried, cfg.score_thr, nms_cfg.iou_thr, nms_cfg.top_k,
            cfg.get('max_per_img', 100))
        if class_agnostic:
            det_labels = det_carried[:, -1].long()
        return InstanceData(bboxes=det_bboxes[:, :4], scores=det_bboxes[:, 4],
                            labels=det_labels, params=det_carried[:, :self.num_params],
                            priors=det_carried[:, self.num_params:self.num_params + locs.shape[1]])


def _match_gt_boxes(target_boxes: Tensor, labels: Tensor, gt_boxes: Tensor,
                    gt_labels: Tensor) -> Tensor:
    """Index of the GT instance each positive was assigned to.

    FCOS assigns a point to exactly one GT box and its regression target reproduces that
    box, so the assigned GT is the one (of the same label) whose box equals the decoded
    target (up to float error).
    """
    if len(target_boxes) == 0:
        return target_boxes.new_zeros((0, ), dtype=torch.long)
    gt_boxes = gt_boxes.to(target_boxes)
    dist = (target_boxes[:, None, :] - gt_boxes[None, :, :]).abs().sum(-1)
    dist[labels[:, None] != gt_labels.to(labels.device)[None, :]] = float('inf')
    return dist.argmin(dim=1)
