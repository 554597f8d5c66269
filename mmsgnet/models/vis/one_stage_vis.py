"""One-stage video instance segmentation: a one-stage instance segmentor run frame by frame
plus a tracker (the skeleton shared by SG-Net and SipMask-VIS).

Training takes (key, reference) frame pairs (a reference sampler, mmdet's
``UniformRefFrameSample`` or SG-Net's ``PreviousFrameSample``, + ``PackTrackInputs``): the
detector's losses on the key frame plus the model's tracking loss.
Inference predicts a video frame by frame and returns ``TrackDataSample`` s whose frames carry
``pred_track_instances`` (bboxes, scores, labels, bool masks at the original size,
``instances_id``), which ``YTVISMetric`` (and mmdet's ``YouTubeVISMetric``),
``tools/test_tracking.py`` and ``TrackLocalVisualizer`` consume unchanged.
"""
import copy
from typing import List, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor

from mmdet.models.mot import BaseMOTModel
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackSampleList
from mmdet.utils import OptConfigType, OptMultiConfig
from ..utils.head_consistency import check_heads, derive_head_cfgs


class OneStageVIS(BaseMOTModel):
    """Base class: ``detector`` (a ``SingleStageInstanceSegmentor`` whose bbox head is an
    :class:`InstanceFCOSHead`) + ``tracker``. Subclasses implement ``track_loss`` and
    ``frame_instances`` (what the tracker needs on each frame's detections). The detector's
    bbox and mask heads are made to agree at build time
    (:mod:`mmsgnet.models.utils.head_consistency`)."""

    def __init__(self,
                 detector: dict,
                 tracker: dict,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor, init_cfg)
        detector = copy.deepcopy(detector)
        if detector.get('bbox_head') is not None and detector.get('mask_head') is not None:
            detector['bbox_head'], detector['mask_head'] = derive_head_cfgs(
                detector['bbox_head'], detector['mask_head'])
        self.detector = MODELS.build(detector)
        check_heads(self.detector.bbox_head, self.detector.mask_head)
        self.tracker = MODELS.build(tracker)
        # keep each detection's location and parameters through the mask head
        self.detector.mask_head.return_params = True
        self._register_load_state_dict_pre_hook(self._load_image_detector_weights)

    def _load_image_detector_weights(self, state_dict, prefix, *args) -> None:
        """Let an image detector's checkpoint (keys ``backbone.*``, ``bbox_head.*``, ...)
        initialise the VIS model's ``detector`` through ``load_from`` / ``load_checkpoint``:
        when the state dict has no ``detector.*`` key, the detector's keys gain the prefix
        (what is not the detector's, e.g. the track head, stays missing and trains from
        scratch)."""
        keys = [k for k in state_dict if k.startswith(prefix)]
        if any(k.startswith(prefix + 'detector.') for k in keys):
            return
        children = tuple(prefix + name + '.' for name, _ in self.detector.named_children())
        moved = [k for k in keys if k.startswith(children)]
        for key in moved:
            state_dict[prefix + 'detector.' + key[len(prefix):]] = state_dict.pop(key)
        if moved:
            print_log(f'loaded an image detector checkpoint ({len(moved)} tensors) into '
                      f'{type(self).__name__}.detector', logger='current')

    @staticmethod
    def split_key_ref(inputs: Tensor, data_samples: TrackSampleList
                      ) -> Tuple[Tensor, Tensor, List[DetDataSample], List[DetDataSample]]:
        """Key and reference frame images (N, C, H, W) and samples."""
        if inputs.dim() != 5 or inputs.size(1) != 2:
            raise ValueError('training expects (N, 2, C, H, W) inputs: one key and one '
                             'reference frame (UniformRefFrameSample(num_ref_imgs=1)); got '
                             f'{tuple(inputs.shape)}')
        batch = torch.arange(len(inputs))
        key_inds = torch.tensor([s.key_frames_inds[0] for s in data_samples])
        ref_inds = torch.tensor([s.ref_frames_inds[0] for s in data_samples])
        key_samples = [s.get_key_frames()[0] for s in data_samples]
        ref_samples = [s.get_ref_frames()[0] for s in data_samples]
        return (inputs[batch, key_inds].contiguous(), inputs[batch, ref_inds].contiguous(),
                key_samples, ref_samples)

    def loss(self, inputs: Tensor, data_samples: TrackSampleList, **kwargs) -> dict:
        """Detector losses on the key frames (as ``SingleStageInstanceSegmentor.loss``) plus
        the tracking loss."""
        key_imgs, ref_imgs, key_samples, ref_samples = self.split_key_ref(inputs, data_samples)
        x = self.detector.extract_feat(key_imgs)
        losses = self.detector.bbox_head.loss(x, key_samples)
        positive_infos = self.detector.bbox_head.get_positive_infos()
        losses.update(self.detector.mask_head.loss(x, key_samples,
                                                   positive_infos=positive_infos))
        losses.update(self.track_loss(x, ref_imgs, key_samples, ref_samples, positive_infos))
        return losses

    def track_loss(self, x, ref_imgs, key_samples, ref_samples, positive_infos) -> dict:
        """Tracking loss of a (key, reference) batch; ``x`` are the key frames' features."""
        raise NotImplementedError

    def frame_instances(self, instances, img_meta: dict, rescale: bool):
        """Add what the tracker needs to a frame's detections (and drop internal fields)."""
        raise NotImplementedError

    def _forward(self, inputs: Tensor, data_samples: TrackSampleList = None, **kwargs) -> tuple:
        """``mode='tensor'``: the raw dense outputs of every frame (backbone, neck, bbox head
        and the mask head's basis), without post-processing or tracking; what mmdet's
        ``get_flops.py`` counts (mmdet's ``BaseMOTModel`` has no tensor mode). Inputs
        (N, T, C, H, W) are taken as N*T images."""
        from ..dense_heads.instance_fcos_head import FeaturedInstanceList
        frames = inputs.flatten(0, 1) if inputs.dim() == 5 else inputs
        x = self.detector.extract_feat(frames)
        outs = self.detector.bbox_head.forward(x)
        basis = self.detector.mask_head.forward(x, FeaturedInstanceList(mask_feats=outs[-1]))
        return tuple(outs[:-1]) + (basis, )

    def predict(self, inputs: Tensor, data_samples: TrackSampleList, rescale: bool = True,
                **kwargs) -> TrackSampleList:
        """Predict a video (batch 1) frame by frame."""
        if inputs.dim() != 5 or len(data_samples) != 1:
            raise ValueError('inference expects one video per batch: (1, T, C, H, W)')
        track_sample = data_samples[0]
        if track_sample[0].frame_id == 0:
            self.tracker.reset()
        for t in range(len(track_sample)):
            frame = track_sample[t]
            x = self.detector.extract_feat(inputs[:, t].contiguous())
            results = self.detector.bbox_head.predict(x, [frame], rescale=False)
            results = self.detector.mask_head.predict(x, [frame], rescale=rescale,
                                                      results_list=results)
            frame.pred_instances = self.frame_instances(results[0], frame.metainfo, rescale)
            frame.pred_track_instances = self.tracker.track(
                model=self, feats=x, data_sample=frame, rescale=rescale)
        return [track_sample]


def _box_centers(boxes: Tensor) -> Tensor:
    return (boxes[:, :2] + boxes[:, 2:]) / 2


@MODELS.register_module()
class SGNet(OneStageVIS):
    """SG-Net (Liu et al., CVPR 2021): FCOS + SAM/BMM granularity blender masks + centerness
    movement tracking with :class:`CenternessTracker`.

    Args:
        detector (dict): A ``SingleStageInstanceSegmentor`` with ``SGNetHead`` and
            ``SGNetMaskHead``.
        tracker (dict): ``CenternessTracker`` config.
        loss_track (dict): Movement loss (paper Eq. 4: L1). Default ``L1Loss``. It is summed
            over the two coordinates of each positive and averaged over the positives
            (``avg_factor``), i.e. the mean L1 norm of the 2-vector ``D - (o_t - o_{t-1})``
            as Eq. 4 (mmdet's plain mean would divide by the 2N coordinates: half of it).
        normalize_by_frame_gap (bool): Divide the target movement by the frame gap between
            key and reference frame, i.e. learn the per-frame movement. False: the target is
            the whole movement over the gap. Either way it points from the earlier frame to
            the later one, as ``D_t = o_t - o_{t-1}``, whichever of key and reference comes
            first. Default True (with ``PreviousFrameSample`` the gap is 1: no difference).
    """

    def __init__(self,
                 detector: dict,
                 tracker: dict,
                 loss_track: dict = dict(type='L1Loss', loss_weight=1.0),
                 normalize_by_frame_gap: bool = True,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(detector, tracker, data_preprocessor, init_cfg)
        if not self.detector.bbox_head.with_track:
            raise ValueError('SGNet needs bbox_head.with_track=True (the movement branch)')
        self.loss_track = MODELS.build(loss_track)
        self.normalize_by_frame_gap = normalize_by_frame_gap

    def movement_targets(self, info, key_sample: DetDataSample,
                         ref_sample: DetDataSample) -> Tuple[Tensor, Tensor]:
        """Target movement (stride units) of each key-frame positive whose GT instance is
        also in the reference frame, and the mask of such positives.

        target_k = (centre_key(k) - centre_ref(k)) / gap / stride with
        gap = frame_id_key - frame_id_ref (signed), or ``/ sign(gap)`` instead of ``/ gap``
        with ``normalize_by_frame_gap=False``: the movement from the earlier to the later
        frame. A zero gap (a frame that is its own reference) gives no target.
        """
        key_gt, ref_gt = key_sample.gt_instances, ref_sample.gt_instances
        valid = info.bboxes.new_zeros(len(info), dtype=torch.bool)
        targets = info.bboxes.new_zeros((len(info), 2))
        gap = int(key_sample.frame_id) - int(ref_sample.frame_id)
        if len(info) == 0 or len(ref_gt) == 0 or gap == 0:
            return targets, valid
        key_ids = key_gt.instances_ids.to(info.gt_inds.device)[info.gt_inds]
        ref_ids = ref_gt.instances_ids.to(key_ids.device)
        same = key_ids[:, None] == ref_ids[None, :]  # (P, R)
        valid = same.any(dim=1)
        ref_idx = same.float().argmax(dim=1)
        key_c = _box_centers(key_gt.bboxes.to(targets)[info.gt_inds])
        ref_c = _box_centers(ref_gt.bboxes.to(targets)[ref_idx])
        scale = gap if self.normalize_by_frame_gap else (1 if gap > 0 else -1)
        targets = (key_c - ref_c) / scale / info.priors[:, 2:4]
        return targets, valid

    def track_loss(self, x, ref_imgs, key_samples, ref_samples, positive_infos) -> dict:
        """Paper Eq. 4: ``1/N sum_i ||D_i - (o_t^i - o_{t-1}^i)||_1`` over the N key-frame
        positives whose instance is also in the reference frame."""
        preds, targets = [], []
        for info, key, ref in zip(positive_infos, key_samples, ref_samples):
            target, valid = self.movement_targets(info, key, ref)
            preds.append(info.params[valid, -2:])
            targets.append(target[valid])
        pred, target = torch.cat(preds), torch.cat(targets)
        if len(pred) == 0:  # keeps the graph connected for distributed training
            return dict(loss_track=sum(info.params.sum() for info in positive_infos) * 0)
        return dict(loss_track=self.loss_track(pred, target, avg_factor=len(pred)))

    def frame_instances(self, instances, img_meta: dict, rescale: bool):
        scale = instances.bboxes.new_tensor(img_meta['scale_factor']) if rescale else 1.0
        priors = instances.priors
        instances.points = priors[:, :2] / scale
        instances.movements = instances.params[:, -2:] * priors[:, 2:4] / scale
        instances.pop('params')
        instances.pop('priors')
        return instances


@MODELS.register_module()
class SipMaskVIS(OneStageVIS):
    """SipMask-VIS (Cao et al., ECCV 2020, Sec. 3.5): SipMask + an embedding tracking branch,
    associated online by mmdet's ``MaskTrackRCNNTracker`` (log-softmax similarity + 1.0 ln
    score + 2.0 IoU + 10 [same label]).

    Args:
        detector (dict): A ``SipMask`` detector.
        track_head (dict): ``SipMaskTrackHead`` config.
        tracker (dict): ``MaskTrackRCNNTracker`` config (or ``SipMaskVISTracker``, its
            subclass with the identity options).
    """

    def __init__(self,
                 detector: dict,
                 track_head: dict,
                 tracker: dict,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(detector, tracker, data_preprocessor, init_cfg)
        self.track_head = MODELS.build(track_head)

    def track_loss(self, x, ref_imgs, key_samples, ref_samples, positive_infos) -> dict:
        """The reference frames go through backbone + FPN (with gradients) and only the
        tracking branch, as in the authors' two-frame training."""
        ref_x = self.detector.extract_feat(ref_imgs)
        return self.track_head.loss(x, ref_x, positive_infos, key_samples, ref_samples)

    def frame_instances(self, instances, img_meta: dict, rescale: bool):
        instances.pop('params')
        instances.pop('priors')
        return instances
