"""FASSST's mask branch (Cheng et al., WACV 2022, Sec. 3.3-3.5): the ROI feature fusion of
the pyramid mask layers (:class:`RoIFeatureFusion`, Eq. 3-4), the mask "tail" (Sec. 3.4:
5 convs + 1 deconv, then a 1x1 class-agnostic logit: 56 x 56 masks for a = 14) and the Dice
mask loss (Eq. 6, weight 5.75 in Eq. 5).

RoIs: in training the GT boxes of the IAM's positive cells, jittered (``roi_jitter``, a
project decision: the tail then learns masks from boxes as inexact as the IAM's); at
inference the IAM's kept detections. Mask targets are the GT masks cropped to the RoIs with
the project's one pixel geometry (``crop_masks_to_boxes``); the predictions are pasted back
with ``paste_box_masks_to_image`` (its inverse), at the original image size.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import kaiming_init, normal_init
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.dense_heads.base_mask_head import BaseMaskHead
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, InstanceList, OptConfigType, OptMultiConfig
from ..utils import crop_masks_to_boxes, paste_box_masks_to_image


def jitter_boxes(boxes: Tensor, ratio: float, input_shape: Sequence[int]) -> Tensor:
    """Move each side of each box by ``U(-ratio, ratio)`` times the box's width (x1, x2) or
    height (y1, y2), keep at least 1 pixel of width / height, clip to ``input_shape`` (H, W).
    ``ratio`` 0 returns the boxes unchanged."""
    if ratio <= 0 or len(boxes) == 0:
        return boxes
    wh = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1).repeat(1, 2)
    moved = boxes + (torch.rand_like(boxes) * 2 - 1) * ratio * wh
    height, width = float(input_shape[0]), float(input_shape[1])
    x1 = moved[:, 0].clamp(0, width - 1)
    y1 = moved[:, 1].clamp(0, height - 1)
    x2 = torch.maximum(moved[:, 2].clamp(max=width), x1 + 1)
    y2 = torch.maximum(moved[:, 3].clamp(max=height), y1 + 1)
    return torch.stack([x1, y1, x2, y2], dim=1)


@MODELS.register_module()
class FASSSTMaskHead(BaseMaskHead):
    """RFF + mask tail + Dice loss.

    Args:
        rff (dict): :class:`RoIFeatureFusion` config (``in_channels``, ``strides``,
            ``out_channels``, ``roi_size`` a, ``fuse``).
        in_indices (Sequence[int]): Which backbone / neck outputs are the three pyramid mask
            layers (finest first). Default (0, 1, 2).
        num_convs (int): 3x3 conv + ReLU layers of the tail (paper: 5).
        conv_channels (int): Their width. Default 256.
        norm_cfg (dict, optional): Norm after each tail conv (paper: none mentioned).
            Default None.
        roi_jitter (float): Training RoIs: each side of the GT box moved by up to this
            fraction of the box size (uniform). 0 = exact GT boxes. Default 0.1.
        max_masks_to_train (int): At most this many positive cells per image get a mask
            (a random subset; -1 = all, at most n). Default -1.
        loss_mask (dict): Eq. 6, ``1 - Dice``: mmdet's ``DiceLoss`` with ``naive_dice=True``
            (``2 sum(p g) / (sum p + sum g)``), weight 5.75 (Eq. 5).
        train_cfg, test_cfg (dict): ``test_cfg.mask_thr_binary`` (default 0.5).
        init_cfg (dict, optional): Initialisation config.

    ``forward(x, infos)`` returns ``(mask_logits, )``: (N, 4a, 4a) for the N RoIs of all
    images (``infos[i].bboxes``, input pixels), in image order.
    """

    def __init__(self,
                 rff: ConfigType,
                 in_indices: Sequence[int] = (0, 1, 2),
                 num_convs: int = 5,
                 conv_channels: int = 256,
                 norm_cfg: OptConfigType = None,
                 roi_jitter: float = 0.1,
                 max_masks_to_train: int = -1,
                 loss_mask: ConfigType = dict(type='DiceLoss', use_sigmoid=True, activate=True,
                                              naive_dice=True, eps=1e-3, loss_weight=5.75),
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if roi_jitter < 0:
            raise ValueError(f'roi_jitter must be >= 0 (a fraction of the box size), got '
                             f'{roi_jitter}')
        self.rff = MODELS.build(dict(rff, type=rff.get('type', 'RoIFeatureFusion')))
        self.in_indices = tuple(in_indices)
        self.roi_jitter = roi_jitter
        self.max_masks_to_train = max_masks_to_train
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        channels = self.rff.out_channels
        self.convs = nn.ModuleList()
        for i in range(num_convs):
            self.convs.append(ConvModule(channels if i == 0 else conv_channels, conv_channels, 3,
                                         padding=1, norm_cfg=norm_cfg,
                                         act_cfg=dict(type='ReLU')))
        tail_in = conv_channels if num_convs else channels
        self.deconv = nn.ConvTranspose2d(tail_in, tail_in, 2, stride=2)
        self.conv_logits = nn.Conv2d(tail_in, 1, 1)
        self.loss_mask = MODELS.build(loss_mask)

    @property
    def mask_size(self) -> int:
        """Side of the predicted masks (2 x the fused RoI feature: 4a)."""
        return 2 * self.rff.output_size

    def init_weights(self) -> None:
        super().init_weights()
        kaiming_init(self.deconv, mode='fan_out', nonlinearity='relu', distribution='normal')
        normal_init(self.conv_logits, std=0.001)

    def forward(self, x: Tuple[Tensor], infos: InstanceList) -> Tuple[Tensor]:
        """Mask logits (N, 4a, 4a) of the RoIs ``infos[i].bboxes`` of every image."""
        feats = [x[i] for i in self.in_indices]
        rois = torch.cat([
            torch.cat([b.new_full((len(b), 1), float(i)), b], dim=1)
            for i, b in enumerate(info.bboxes.float() for info in infos)
        ]) if infos else feats[0].new_zeros((0, 5))
        if len(rois) == 0:
            # nothing to segment; keep the graph (and the parameters) connected
            dummy = sum(p.sum() for p in self.parameters()) * 0
            return (dummy + feats[0].new_zeros((0, self.mask_size, self.mask_size)), )
        feat = self.rff(feats, rois)
        for conv in self.convs:
            feat = conv(feat)
        feat = torch.relu(self.deconv(feat))
        return (self.conv_logits(feat)[:, 0], )

    # ------------------------------------------------------------------ training
    def loss(self, x: Tuple[Tensor], batch_data_samples: SampleList,
             positive_infos: InstanceList = None, **kwargs) -> dict:
        """Picks the training RoIs (jittered GT boxes of the positive cells, at most
        ``max_masks_to_train`` per image), then ``BaseMaskHead.loss``."""
        if positive_infos is None:
            raise ValueError('FASSSTMaskHead needs the positive cells of the IAM '
                             '(FASSSTHead.get_positive_infos): use it with bbox_head=FASSSTHead')
        input_shape = batch_data_samples[0].metainfo['batch_input_shape']
        infos = []
        for info in positive_infos:
            if 0 <= self.max_masks_to_train < len(info):
                perm = torch.randperm(len(info), device=info.gt_bboxes.device)
                info = info[perm[:self.max_masks_to_train]]
            info = info.clone()
            info.bboxes = jitter_boxes(info.gt_bboxes, self.roi_jitter, input_shape)
            infos.append(info)
        return super().loss(x, batch_data_samples, positive_infos=infos, **kwargs)

    def loss_by_feat(self, mask_logits: Tensor, batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict], positive_infos: InstanceList,
                     **kwargs) -> dict:
        """Eq. 6 on every positive: ``1 - Dice`` of the predicted mask and the GT mask cropped
        to the RoI (``crop_masks_to_boxes``, binarised at 0.5), averaged over positives."""
        targets = []
        for gt, info in zip(batch_gt_instances, positive_infos):
            if len(info) == 0:
                continue
            gt_masks = gt.masks.to_tensor(dtype=torch.float, device=mask_logits.device)
            crops = crop_masks_to_boxes(gt_masks, info.bboxes, (self.mask_size, self.mask_size),
                                        info.gt_inds)
            targets.append((crops >= 0.5).float())
        if len(mask_logits) == 0:
            return dict(loss_mask=mask_logits.sum() * 0)
        return dict(loss_mask=self.loss_mask(mask_logits, torch.cat(targets)))

    # ----------------------------------------------------------------- inference
    def predict_by_feat(self, mask_logits: Tensor, results_list: InstanceList,
                        batch_img_metas: List[dict], rescale: bool = True,
                        **kwargs) -> InstanceList:
        """Masks of the kept detections: probabilities > ``mask_thr_binary`` (0.5), pasted
        into their boxes at the original image size when ``rescale`` (boxes rescaled too)."""
        threshold = (self.test_cfg or {}).get('mask_thr_binary', 0.5)
        probs = mask_logits.sigmoid()
        outputs, start = [], 0
        for results, img_meta in zip(results_list, batch_img_metas):
            num = len(results)
            out = InstanceData(scores=results.scores, labels=results.labels)
            out.masks, out.bboxes = paste_box_masks_to_image(
                probs[start:start + num], results.bboxes, img_meta, rescale, threshold)
            start += num
            outputs.append(out)
        return outputs
