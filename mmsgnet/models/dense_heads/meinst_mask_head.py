"""MEInst's mask side (Zhang et al., CVPR 2020, Sec. 3.1-3.2): the PCA mask encoding, the
coefficient loss of the positives and the mask assembly of the kept detections.

The per-location coefficients come from :class:`MEInstHead` (its ``params``); this head owns
the encoding (``components`` C (N, 784), ``mean`` mu (784), ``explained_variance`` lambda (N):
persistent, frozen buffers, read from ``components_file`` at construction and saved in
checkpoints) and:

- training (Eq. 3): the target of a positive is its GT mask cropped to its GT box at 28 x 28
  (:func:`crop_masks_to_boxes`, binarised at 0.5), jittered into logit space and encoded
  (:mod:`..layers.mask_encoding`, fresh jitter every step); the loss is ``loss_type`` on the
  coefficients, weighted by the FCOS centerness target c_i and divided by
  ``N x sum(c)`` (AdelaiDet's normaliser);
- inference: decode the coefficients of the kept detections only, paste the 28 x 28
  probabilities into their predicted boxes (:func:`paste_box_masks_to_image`), threshold
  ``test_cfg.mask_thr_binary`` (0.5).

``encoding`` (paper Table 3): 'explicit' (the above), 'implicit' (decode the predicted
coefficients to 784 logits and apply pixel BCE against the binary 28 x 28 target, weighted by
c_i, divided by ``784 x sum(c)``; AdelaiDet's ``LOSS_ON_MASK``) or 'none' (no components: the
branch predicts the 784 logits directly; the target is the jittered logit mask, ``loss_type``
applies over the 784 values, decode = sigmoid).
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.dense_heads.base_mask_head import BaseMaskHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import InstanceList, OptConfigType, OptMultiConfig, reduce_mean
from ..layers.mask_encoding import (COMPONENTS_HELP, ComponentsFileError, decode, encode,
                                    jitter_logits, load_components)
from ..utils import crop_masks_to_boxes, paste_box_masks_to_image

ENCODINGS = ('explicit', 'implicit', 'none')
LOSS_TYPES = ('l2', 'l1', 'smooth_l1', 'cosine')


def coefficient_loss(pred: Tensor, target: Tensor, weights: Tensor, ctr_norm: Tensor,
                     loss_type: str = 'l2', beta: float = 1.0) -> Tensor:
    """MEInst's mask loss (Eq. 3) on (P, N) coefficients of the positives.

    Element-wise losses (``l2`` = squared error, ``l1``, ``smooth_l1`` with ``beta``) are
    summed over the N coefficients, weighted by ``weights`` (centerness targets) and divided
    by ``max(ctr_norm x N, 1)`` (AdelaiDet); ``cosine`` is ``1 - cos(pred, target)`` per
    positive, weighted and divided by ``ctr_norm``.

    Args:
        pred (Tensor): (P, N) predicted coefficients. target (Tensor): (P, N).
        weights (Tensor): (P,) centerness targets c_i.
        ctr_norm (Tensor): Scalar ``sum(c)`` (averaged over processes), > 0.
        loss_type (str): One of :data:`LOSS_TYPES`.
        beta (float): Smooth-l1 transition point.
    """
    if loss_type == 'cosine':
        per_pos = 1 - F.cosine_similarity(pred, target, dim=1, eps=1e-6)
        return (weights * per_pos).sum() / ctr_norm
    diff = pred - target
    if loss_type == 'l2':
        elem = diff.pow(2)
    elif loss_type == 'l1':
        elem = diff.abs()
    elif loss_type == 'smooth_l1':
        elem = F.smooth_l1_loss(pred, target, reduction='none', beta=beta)
    else:
        raise ValueError(f'loss_type must be one of {LOSS_TYPES}, got {loss_type!r}')
    return (weights * elem.sum(1)).sum() / (ctr_norm * pred.shape[1]).clamp(min=1)


@MODELS.register_module()
class MEInstMaskHead(BaseMaskHead):
    """PCA mask encoding, coefficient loss and mask assembly (see module docstring).

    Args:
        num_components (int): N. Default 60.
        components_file (str, optional): ``.npz`` with the components (ours or AdelaiDet's;
            the first N are used). None is allowed only to load them from a checkpoint
            afterwards (the buffers start at zero and predicting or training before that
            raises); not needed with ``encoding='none'``.
        mask_size (int): Side of the box-local masks (28; the components' D = 28 x 28).
        encoding (str): 'explicit' (default), 'implicit' or 'none'.
        loss_type (str): 'l2' (default), 'l1', 'smooth_l1' or 'cosine'.
        smooth_l1_beta (float): Default 1.0.
        loss_weight (float): lambda_mask of Eq. 4. Default 1.
    """

    def __init__(self,
                 num_components: int = 60,
                 components_file: Optional[str] = None,
                 mask_size: int = 28,
                 encoding: str = 'explicit',
                 loss_type: str = 'l2',
                 smooth_l1_beta: float = 1.0,
                 loss_weight: float = 1.0,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if encoding not in ENCODINGS:
            raise ValueError(f'encoding must be one of {ENCODINGS}, got {encoding!r}')
        if loss_type not in LOSS_TYPES:
            raise ValueError(f'loss_type must be one of {LOSS_TYPES}, got {loss_type!r}')
        dim = mask_size * mask_size
        if encoding != 'none' and not 1 <= num_components <= dim:
            raise ValueError(f'num_components must be in [1, {dim}], got {num_components}')
        self.num_components = num_components
        self.mask_size = mask_size
        self.encoding = encoding
        self.loss_type = loss_type
        self.smooth_l1_beta = smooth_l1_beta
        self.loss_weight = loss_weight
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.components_file = components_file
        if encoding == 'none':
            return
        self.register_buffer('components', torch.zeros(num_components, dim))
        self.register_buffer('mean', torch.zeros(dim))
        self.register_buffer('explained_variance', torch.zeros(num_components))
        if components_file is not None:
            self.load_components(components_file)

    @property
    def num_params(self) -> int:
        """Coefficients the bbox head must predict per location."""
        return self.mask_size**2 if self.encoding == 'none' else self.num_components

    def load_components(self, path: str) -> None:
        """Fill the buffers from an ``.npz`` (:func:`load_components`)."""
        arrays = load_components(path, self.num_components)
        if arrays['mean'].shape[0] != self.mask_size**2:
            raise ComponentsFileError(
                f'mask components file {path!r} holds {arrays["mean"].shape[0]}-pixel masks '
                f'but mask_size={self.mask_size} needs {self.mask_size**2}. {COMPONENTS_HELP}')
        for name in ('components', 'mean', 'explained_variance'):
            getattr(self, name).copy_(torch.from_numpy(arrays[name]))

    def _check_components(self) -> None:
        if self.encoding != 'none' and not bool((self.explained_variance > 0).all()):
            raise ComponentsFileError(
                'MEInstMaskHead has no mask components: set mask_head.components_file to an '
                f'.npz, or load a checkpoint that holds them. {COMPONENTS_HELP}')

    def _pca(self):
        return self.components, self.mean, self.explained_variance

    def forward(self, x: tuple, positive_infos: Optional[InstanceList] = None) -> tuple:
        """No layers: the coefficients travel in the positive infos / results."""
        return ()

    # ------------------------------------------------------------------ training
    def get_targets(self, batch_gt_instances: InstanceList,
                    positive_infos: InstanceList) -> tuple:
        """Binary 28 x 28 GT masks in the GT boxes of all positives, (P, 784), and their
        centerness targets (P,)."""
        masks, ctrs = [], []
        for gt, info in zip(batch_gt_instances, positive_infos):
            if len(info) == 0:
                continue
            device = info.params.device
            gt_masks = gt.masks.to_tensor(dtype=torch.float, device=device)
            crops = crop_masks_to_boxes(gt_masks, get_box_tensor(gt.bboxes).to(device),
                                        (self.mask_size, self.mask_size))
            masks.append((crops > 0.5).flatten(1)[info.gt_inds])
            ctrs.append(info.ctr_targets)
        if not masks:
            return None, None
        return torch.cat(masks).float(), torch.cat(ctrs)

    def loss_by_feat(self, batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     positive_infos: InstanceList, **kwargs) -> dict:
        """``loss_mask``: the coefficient loss of all positives of the batch."""
        self._check_components()
        preds = [info.params for info in positive_infos]
        pred = torch.cat(preds) if preds else None
        masks, ctrs = self.get_targets(batch_gt_instances, positive_infos)
        local = ctrs.sum() if ctrs is not None else pred.new_zeros(())
        ctr_norm = reduce_mean(local.detach()).clamp(min=1e-6)
        if masks is None:
            return dict(loss_mask=pred.sum() * 0)
        if self.encoding == 'implicit':
            logits = decode(pred, *self._pca(), logits=True)
            bce = F.binary_cross_entropy_with_logits(logits, masks, reduction='none')
            loss = (ctrs * bce.sum(1)).sum() / (ctr_norm * masks.shape[1]).clamp(min=1)
        else:
            target = jitter_logits(masks)
            if self.encoding == 'explicit':
                target = encode(target, *self._pca())
            loss = coefficient_loss(pred, target, ctrs, ctr_norm, self.loss_type,
                                    self.smooth_l1_beta)
        return dict(loss_mask=loss * self.loss_weight)

    # ----------------------------------------------------------------- inference
    def decode_masks(self, params: Tensor) -> Tensor:
        """(K, num_params) coefficients -> (K, 28, 28) mask probabilities."""
        if self.encoding == 'none':
            probs = params.sigmoid()
        else:
            self._check_components()
            probs = decode(params.float(), *self._pca())
        return probs.reshape(-1, self.mask_size, self.mask_size)

    def predict_by_feat(self, results_list: InstanceList, batch_img_metas: List[dict],
                        rescale: bool = True, **kwargs) -> InstanceList:
        """Masks of the kept detections: decoded, pasted into their boxes, thresholded at
        ``test_cfg.mask_thr_binary`` (0.5); at the original image size when ``rescale``."""
        thr = (self.test_cfg or {}).get('mask_thr_binary', 0.5)
        outputs = []
        for results, img_meta in zip(results_list, batch_img_metas):
            probs = self.decode_masks(results.params)
            out = InstanceData(bboxes=results.bboxes, scores=results.scores,
                               labels=results.labels)
            out.masks, out.bboxes = paste_box_masks_to_image(probs, out.bboxes, img_meta,
                                                             rescale, thr)
            outputs.append(out)
        return outputs
