"""FASSST's instance attention module (IAM; Cheng et al., WACV 2022, Sec. 3.2, Eq. 1-2).

The raw features ``E = extr(F)`` of the network head (Eq. 1: the first ``head depth`` stages of
the backbone) go through 9 conv layers to ``I = attn(E)`` (Eq. 2), an ``n x c x s`` tensor:
an S x S grid of instance slots (``n = S^2``; YOLO [26]), each predicting the 4 box sides
``(t, l, b, r)`` and the class confidences. The grid geometry and the centre-cell assignment
are the pure functions of :mod:`mmsgnet.models.utils.instance_grid`.

Layers (project decision, METHODS 6): ``num_convs - 1`` 3x3 conv-BN-ReLU layers, the strided
ones (``conv_strides``) reducing E (stride 16 at head depth 5) to stride 32; an adaptive
pooling to S x S placed before the last ``grid_convs`` of them (so that cell (i, j) pools
exactly the features over its image area, for any input size and any n); the 9th layer is the
1x1 prediction conv (box sides + class logits, one conv as YOLO).

Losses (Eq. 5, the ``lambda_l L_l + lambda_c L_c`` part): sigmoid focal classification loss
over all cells (weight 1.25) and the localisation loss on positive cells (weight 3): GIoU on
the decoded boxes (default) or, with ``loss_loc=dict(type='DistributionFocalLoss')``, GFL's
distribution focal loss on the 4 sides (the head then predicts ``reg_max + 1`` bins per side).
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.ops import batched_nms
from mmengine.config import ConfigDict
from mmengine.model import bias_init_with_prob, normal_init
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.layers import fast_nms
from mmdet.registry import MODELS
from mmdet.utils import (ConfigType, InstanceList, OptConfigType, OptInstanceList, OptMultiConfig,
                         reduce_mean)
from ..utils.instance_grid import (assign_grid_cells, decode_cell_sides, encode_cell_sides,
                                   grid_cell_centres, side_range)


@MODELS.register_module()
class FASSSTHead(BaseDenseHead):
    """Instance attention module: S x S instance slots with box sides and class scores.

    Args:
        num_classes (int): Foreground classes.
        in_channels (int): Channels of E.
        num_instances (int): ``n``, a perfect square (S = sqrt(n)); 36 on COCO, 49 on
            Cityscapes, paper Table 7: 16 ... 81. Default 36.
        in_index (int): Which of the backbone / neck outputs is E. Default 0.
        feat_channels (int): Width of the IAM convs. Default 256.
        num_convs (int): Conv layers of the IAM, the 1x1 prediction conv included (paper: 9).
        conv_strides (Sequence[int]): Strides of the ``num_convs - 1`` 3x3 convs (pooling
            excluded). Default: the 2nd conv has stride 2 (E at stride 16 -> 32).
        grid_convs (int): How many of the 3x3 convs run on the S x S grid, after the adaptive
            pooling. Default 2.
        grid_pool (str): 'avg' or 'max' adaptive pooling to S x S. Default 'avg'.
        neighbourhood (bool): Also make the 8 cells around a GT's centre cell positives
            (METHODS 6 option). Default False.
        reg_max (int): Bins - 1 per side for the distribution focal loss. Default 16.
        norm_cfg (dict): Norm of the 3x3 convs. Default BN.
        act_cfg (dict): Activation of the 3x3 convs. Default ReLU.
        loss_cls (dict): Default sigmoid focal loss, weight 1.25 (Eq. 5).
        loss_loc (dict): Default GIoU, weight 3 (Eq. 5); or ``DistributionFocalLoss``.
        train_cfg, test_cfg (dict): ``test_cfg``: ``score_thr``, ``nms`` (mmcv's
            ``batched_nms`` config, IoU 0.5) or ``fast_nms`` (``iou_thr``, ``top_k``; YOLACT's
            FastNMS), ``max_per_img`` (at most n anyway: one instance per cell).
        init_cfg (dict, optional): Initialisation config.

    ``forward`` returns ``cls_scores`` (B, C, S, S) logits and ``bbox_preds`` (B, 4, S, S)
    normalised signed sides (t, l, b, r) (or (B, 4 (reg_max + 1), S, S) bin logits).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_instances: int = 36,
                 in_index: int = 0,
                 feat_channels: int = 256,
                 num_convs: int = 9,
                 conv_strides: Sequence[int] = (1, 2, 1, 1, 1, 1, 1, 1),
                 grid_convs: int = 2,
                 grid_pool: str = 'avg',
                 neighbourhood: bool = False,
                 reg_max: int = 16,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 loss_cls: ConfigType = dict(
                     type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                     loss_weight=1.25),
                 loss_loc: ConfigType = dict(type='GIoULoss', loss_weight=3.0),
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        grid_size = math.isqrt(num_instances) if num_instances > 0 else 0
        if grid_size < 1 or grid_size * grid_size != num_instances:
            raise ValueError(f'num_instances (n) must be a perfect square S^2 (the IAM grid is '
                             f'S x S), got {num_instances}; e.g. 16, 25, 36, 49, 64, 81')
        if len(conv_strides) != num_convs - 1:
            raise ValueError(f'conv_strides gives the strides of the {num_convs - 1} 3x3 convs '
                             f'(num_convs - 1), got {len(conv_strides)}')
        if not 0 <= grid_convs <= num_convs - 1:
            raise ValueError(f'grid_convs must be in [0, {num_convs - 1}], got {grid_convs}')
        if grid_pool not in ('avg', 'max'):
            raise ValueError(f"grid_pool must be 'avg' or 'max', got {grid_pool!r}")
        self.num_classes = num_classes
        self.cls_out_channels = num_classes
        self.in_channels = in_channels
        self.num_instances = num_instances
        self.grid_size = grid_size
        self.in_index = in_index
        self.feat_channels = feat_channels
        self.num_convs = num_convs
        self.conv_strides = tuple(conv_strides)
        self.grid_convs = grid_convs
        self.grid_pool = grid_pool
        self.neighbourhood = neighbourhood
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_loc = MODELS.build(loss_loc)
        self.use_dfl = loss_loc['type'] in ('DistributionFocalLoss', 'mmdet.DistributionFocalLoss')
        self.reg_max = reg_max
        self.side_channels = reg_max + 1 if self.use_dfl else 1
        self.convs = nn.ModuleList()
        for i, stride in enumerate(self.conv_strides):
            self.convs.append(ConvModule(in_channels if i == 0 else feat_channels, feat_channels,
                                         3, stride=stride, padding=1, norm_cfg=norm_cfg,
                                         act_cfg=act_cfg))
        self.conv_pred = nn.Conv2d(feat_channels if num_convs > 1 else in_channels,
                                   4 * self.side_channels + num_classes, 1)

    def init_weights(self) -> None:
        super().init_weights()
        normal_init(self.conv_pred, std=0.01)
        nn.init.constant_(self.conv_pred.bias[4 * self.side_channels:],
                          bias_init_with_prob(0.01))

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tuple[Tensor]) -> Tuple[Tensor, Tensor]:
        """E = ``x[in_index]`` -> (cls_scores (B, C, S, S), bbox_preds (B, 4 [x bins], S, S))."""
        feat = x[self.in_index]
        pool_at = len(self.convs) - self.grid_convs
        for i, conv in enumerate(self.convs):
            if i == pool_at:
                feat = self._pool(feat)
            feat = conv(feat)
        if pool_at == len(self.convs):
            feat = self._pool(feat)
        pred = self.conv_pred(feat)
        num_box = 4 * self.side_channels
        return pred[:, num_box:], pred[:, :num_box]

    def _pool(self, feat: Tensor) -> Tensor:
        size = (self.grid_size, self.grid_size)
        if self.grid_pool == 'max':
            return F.adaptive_max_pool2d(feat, size)
        return F.adaptive_avg_pool2d(feat, size)

    def _sides(self, bbox_preds: Tensor) -> Tensor:
        """(B, 4 [x bins], S, S) -> (B, S*S, 4) normalised sides (t, l, b, r)."""
        num_imgs = bbox_preds.shape[0]
        preds = bbox_preds.permute(0, 2, 3, 1).reshape(num_imgs, self.num_instances, -1)
        if not self.use_dfl:
            return preds
        low, high = side_range(self.grid_size, self.neighbourhood)
        probs = preds.reshape(num_imgs, self.num_instances, 4, self.reg_max + 1).softmax(-1)
        bins = torch.arange(self.reg_max + 1, device=preds.device, dtype=probs.dtype)
        return low + (probs * bins).sum(-1) * ((high - low) / self.reg_max)

    # ------------------------------------------------------------------ training
    def get_targets(self, batch_gt_instances: InstanceList,
                    input_shape: Sequence[int]) -> Tuple[Tensor, Tensor]:
        """(B, S*S) class labels (``num_classes`` = background) and GT indices (-1)."""
        labels, gt_inds = [], []
        for gt in batch_gt_instances:
            cell_gt = assign_grid_cells(gt.bboxes, self.grid_size, input_shape,
                                        self.neighbourhood)
            label = cell_gt.new_full(cell_gt.shape, self.num_classes)
            pos = cell_gt >= 0
            label[pos] = gt.labels[cell_gt[pos]].to(label)
            labels.append(label)
            gt_inds.append(cell_gt)
        return torch.stack(labels), torch.stack(gt_inds)

    def loss_by_feat(self,
                     cls_scores: Tensor,
                     bbox_preds: Tensor,
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """Focal loss over all cells, localisation loss over positive cells (Eq. 5), both
        averaged over the positives of the batch; records the positives for the mask head."""
        num_imgs = cls_scores.shape[0]
        input_shape = batch_img_metas[0]['batch_input_shape']
        labels, gt_inds = self.get_targets(batch_gt_instances, input_shape)
        flat_cls = cls_scores.permute(0, 2, 3, 1).reshape(-1, self.num_classes)
        flat_labels = labels.reshape(-1)
        pos = gt_inds >= 0  # (B, S*S)
        num_pos = max(reduce_mean(flat_cls.new_tensor(float(pos.sum()))).item(), 1.0)
        loss_cls = self.loss_cls(flat_cls, flat_labels, avg_factor=num_pos)

        centres = grid_cell_centres(self.grid_size, input_shape, device=cls_scores.device)
        img_inds, cell_inds = pos.nonzero(as_tuple=True)
        pos_gt_boxes = torch.cat([
            gt.bboxes[gt_inds[i][pos[i]]] for i, gt in enumerate(batch_gt_instances)
        ]) if len(cell_inds) else cls_scores.new_zeros((0, 4))
        pos_centres = centres[cell_inds]
        preds = bbox_preds.permute(0, 2, 3, 1).reshape(num_imgs, self.num_instances, -1)
        pos_preds = preds[img_inds, cell_inds]
        if len(cell_inds) == 0:
            loss_loc = pos_preds.sum() * 0
        elif self.use_dfl:
            low, high = side_range(self.grid_size, self.neighbourhood)
            targets = encode_cell_sides(pos_gt_boxes.float(), pos_centres, input_shape)
            bins = ((targets - low) / (high - low) * self.reg_max).clamp(0, self.reg_max - 0.01)
            loss_loc = self.loss_loc(pos_preds.reshape(-1, self.reg_max + 1), bins.reshape(-1),
                                     avg_factor=4 * num_pos)
        else:
            boxes = decode_cell_sides(pos_preds, pos_centres, input_shape)
            loss_loc = self.loss_loc(boxes, pos_gt_boxes.to(boxes), avg_factor=num_pos)

        self._raw_positive_infos = dict(img_inds=img_inds, cell_inds=cell_inds,
                                        gt_inds=gt_inds, num_imgs=num_imgs,
                                        batch_gt_instances=batch_gt_instances)
        return dict(loss_cls=loss_cls, loss_loc=loss_loc)

    def get_positive_infos(self) -> Optional[InstanceList]:
        """Per image, an ``InstanceData`` of its positive cells: ``cells`` (index k),
        ``gt_inds``, ``labels`` and ``gt_bboxes`` (the assigned GT box, input pixels)."""
        raw = self._raw_positive_infos
        if not raw:
            return None
        infos = []
        for i in range(raw['num_imgs']):
            gt = raw['batch_gt_instances'][i]
            cells = raw['cell_inds'][raw['img_inds'] == i]
            gt_inds = raw['gt_inds'][i][cells]
            infos.append(InstanceData(cells=cells, gt_inds=gt_inds, labels=gt.labels[gt_inds],
                                      gt_bboxes=gt.bboxes[gt_inds].float()))
        return infos

    # ----------------------------------------------------------------- inference
    def decode(self, cls_scores: Tensor, bbox_preds: Tensor,
               input_shape: Sequence[int]) -> Tuple[Tensor, Tensor]:
        """All cells: (B, S*S, 4) boxes in input pixels and (B, S*S, C) class probabilities."""
        num_imgs = cls_scores.shape[0]
        centres = grid_cell_centres(self.grid_size, input_shape, device=cls_scores.device)
        sides = self._sides(bbox_preds)
        boxes = decode_cell_sides(sides.reshape(-1, 4), centres.repeat(num_imgs, 1), input_shape)
        probs = cls_scores.permute(0, 2, 3, 1).reshape(num_imgs, self.num_instances, -1).sigmoid()
        return boxes.reshape(num_imgs, self.num_instances, 4), probs

    def predict_by_feat(self,
                        cls_scores: Tensor,
                        bbox_preds: Tensor,
                        batch_img_metas: List[dict],
                        cfg: Optional[ConfigType] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Per cell its best class; score threshold; NMS (or FastNMS); at most n detections.

        Boxes are clipped to ``img_shape``; with ``rescale`` they are mapped to the original
        image (the detector asks for input pixels when a mask head follows)."""
        cfg = ConfigDict(self.test_cfg if cfg is None else cfg)
        input_shape = batch_img_metas[0]['batch_input_shape']
        all_boxes, all_probs = self.decode(cls_scores.detach(), bbox_preds.detach(),
                                           input_shape)
        results_list = []
        for boxes, probs, img_meta in zip(all_boxes, all_probs, batch_img_metas):
            img_h, img_w = img_meta['img_shape'][:2]
            boxes = torch.stack([boxes[:, 0].clamp(0, img_w), boxes[:, 1].clamp(0, img_h),
                                 boxes[:, 2].clamp(0, img_w), boxes[:, 3].clamp(0, img_h)], 1)
            scores, labels = probs.max(dim=1)
            cells = torch.arange(len(boxes), device=boxes.device)
            keep = scores > cfg.get('score_thr', 0.0)
            boxes, scores, labels, cells = boxes[keep], scores[keep], labels[keep], cells[keep]
            max_num = min(cfg.get('max_per_img', self.num_instances), self.num_instances)
            if with_nms and 'fast_nms' in cfg:
                boxes, scores, labels, cells = self._fast_nms(boxes, scores, labels, cells, cfg,
                                                              max_num)
            elif with_nms and len(boxes) and cfg.get('nms') is not None:
                dets, keep = batched_nms(boxes, scores, labels, cfg.nms)
                boxes, scores = dets[:max_num, :4], dets[:max_num, 4]
                labels, cells = labels[keep][:max_num], cells[keep][:max_num]
            else:
                order = scores.argsort(descending=True)[:max_num]
                boxes, scores, labels, cells = (boxes[order], scores[order], labels[order],
                                                cells[order])
            if rescale:
                boxes = boxes / boxes.new_tensor(img_meta['scale_factor']).repeat(2)
            results_list.append(InstanceData(bboxes=boxes, scores=scores, labels=labels,
                                             cells=cells))
        return results_list

    def _fast_nms(self, boxes: Tensor, scores: Tensor, labels: Tensor, cells: Tensor,
                  cfg: ConfigType, max_num: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """YOLACT's FastNMS (mmdet's ``fast_nms``) on each cell's best class."""
        if len(boxes) == 0:
            return boxes, scores, labels, cells
        matrix = scores.new_zeros((len(scores), self.num_classes + 1))
        matrix[torch.arange(len(scores)), labels] = scores
        nms_cfg = cfg.fast_nms
        dets, det_labels, det_cells = fast_nms(boxes, matrix, cells[:, None].float(),
                                               cfg.get('score_thr', 0.0), nms_cfg.iou_thr,
                                               nms_cfg.get('top_k', self.num_instances), max_num)
        return dets[:, :4], dets[:, 4], det_labels, det_cells[:, 0].long()
