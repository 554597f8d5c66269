"""SipMask-VIS's tracking branch (Cao et al., ECCV 2020, Sec. 3.5; authors' SipMask-VIS).

Two shared 3x3 GN convs on P3-P5, upsampled to P3 and concatenated, then a 1x1 conv to a
512-d embedding map at stride 8. A detection's embedding is the map's value at its box centre
(``E[floor(cy / 8), floor(cx / 8)]``, no interpolation). Training: the key frame's positives
against the reference frame's GT objects, logits ``[0, f . g_1, ..., f . g_K]`` where the
leading 0 stands for "not in the reference frame", softmax cross-entropy. Inference: mmdet's
``MaskTrackRCNNTracker`` calls :meth:`extract_roi_feats` and :meth:`predict`.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import normal_init
from torch import Tensor

from mmdet.registry import MODELS


def sample_at_box_centers(embed: Tensor, boxes: Tensor, stride: int) -> Tensor:
    """Embeddings (N, C) at the box centres: ``embed[:, floor(cy/s), floor(cx/s)]``, with the
    indices clamped to the map (boxes at or past the border)."""
    height, width = embed.shape[-2:]
    cx = ((boxes[:, 0] + boxes[:, 2]) / 2 / stride).floor().long().clamp(0, width - 1)
    cy = ((boxes[:, 1] + boxes[:, 3]) / 2 / stride).floor().long().clamp(0, height - 1)
    return embed[:, cy, cx].t()


def jitter_boxes(boxes: Tensor, amplitude: float) -> Tensor:
    """Shift the centre by u*(w, h) and scale w, h by (1 + u), u ~ U(-a, a) per value."""
    if amplitude <= 0 or len(boxes) == 0:
        return boxes
    ctr = (boxes[:, :2] + boxes[:, 2:]) / 2
    wh = boxes[:, 2:] - boxes[:, :2]
    u = (torch.rand_like(boxes) * 2 - 1) * amplitude
    ctr = ctr + u[:, :2] * wh
    wh = wh * (1 + u[:, 2:])
    return torch.cat([ctr - wh / 2, ctr + wh / 2], dim=1)


@MODELS.register_module()
class SipMaskTrackHead(nn.Module):
    """Embedding branch + matching loss of SipMask-VIS.

    Args:
        in_channels (int): FPN channels. Default 256.
        num_convs (int): Shared 3x3 convs per level. Default 2.
        num_levels (int): FPN levels fused (P3-P5). Default 3.
        embed_channels (int): Embedding size. Default 512.
        stride (int): Stride of the first level (the embedding map). Default 8.
        norm_cfg (dict): Norm of the convs. Default GN(32).
        ref_jitter (float): Jitter of the reference GT boxes in training. Default 0.05.
        loss_weight (float): Weight of the matching loss. Default 1.
    """

    def __init__(self,
                 in_channels: int = 256,
                 num_convs: int = 2,
                 num_levels: int = 3,
                 embed_channels: int = 512,
                 stride: int = 8,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 ref_jitter: float = 0.05,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.num_levels, self.stride = num_levels, stride
        self.ref_jitter, self.loss_weight = ref_jitter, loss_weight
        self.convs = nn.Sequential(*[
            ConvModule(in_channels, in_channels, 3, padding=1, norm_cfg=norm_cfg,
                       bias=norm_cfg is None) for _ in range(num_convs)
        ])
        self.embed = nn.Conv2d(in_channels * num_levels, embed_channels, 1)
        for m in self.convs.modules():
            if isinstance(m, nn.Conv2d):
                normal_init(m, std=0.01)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """FPN features -> embedding map (B, embed_channels, H/stride, W/stride)."""
        size = feats[0].shape[-2:]
        maps = []
        for level in range(self.num_levels):
            out = self.convs(feats[level])
            if level:
                out = F.interpolate(out, size=size, mode='bilinear', align_corners=False)
            maps.append(out)
        return self.embed(torch.cat(maps, dim=1))

    # -------------------------------------------------- MaskTrackRCNNTracker API
    def extract_roi_feats(self, feats: Sequence[Tensor],
                          bboxes: List[Tensor]) -> Tuple[Tensor, List[int]]:
        """Embeddings of boxes (network-input pixels), image by image: ((N, C), [N_i])."""
        embed = self.forward(feats)
        out = [sample_at_box_centers(embed[i], b, self.stride) for i, b in enumerate(bboxes)]
        return torch.cat(out), [len(b) for b in bboxes]

    def predict(self, feats: Tensor, prev_feats: Tensor) -> Tensor:
        """Similarity logits (N, M + 1): a 0 "new object" column, then dot products."""
        dots = feats @ prev_feats.t()
        return torch.cat([dots.new_zeros(len(feats), 1), dots], dim=1)

    # ------------------------------------------------------------------ training
    def match_targets(self, key_ids: Tensor, ref_ids: Tensor) -> Tensor:
        """1 + index of the same instance in the reference frame, 0 if it is absent there."""
        same = key_ids[:, None] == ref_ids[None, :]
        return torch.where(same.any(1), same.float().argmax(1) + 1,
                           torch.zeros_like(key_ids)).long()

    def loss(self, key_feats: Sequence[Tensor], ref_feats: Sequence[Tensor],
             positive_infos, key_samples, ref_samples) -> dict:
        """Softmax cross-entropy of each key positive over [new, reference objects]."""
        key_embed, ref_embed = self.forward(key_feats), self.forward(ref_feats)
        losses = []
        for i, (info, key, ref) in enumerate(zip(positive_infos, key_samples, ref_samples)):
            if len(info) == 0:
                continue
            f = sample_at_box_centers(key_embed[i], info.bboxes, self.stride)
            ref_boxes = jitter_boxes(ref.gt_instances.bboxes.to(f), self.ref_jitter)
            g = sample_at_box_centers(ref_embed[i], ref_boxes, self.stride)
            key_ids = key.gt_instances.instances_ids.to(f.device)[info.gt_inds]
            targets = self.match_targets(key_ids, ref.gt_instances.instances_ids.to(f.device))
            losses.append(F.cross_entropy(self.predict(f, g), targets))
        if not losses:  # keep the graph connected
            return dict(loss_match=key_embed.sum() * 0 + ref_embed.sum() * 0)
        return dict(loss_match=torch.stack(losses).mean() * self.loss_weight)
