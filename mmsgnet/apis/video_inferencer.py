"""``VideoInferencer``: a VIS model (SG-Net, SipMask-VIS) run on a video streamed one frame
at a time through the config's own test pipeline, with the tracker's state kept between
calls.

Each frame is decoded, packed as a one-frame ``TrackDataSample`` and predicted by
``model.test_step`` (``OneStageVIS.predict`` resets the tracker at frame 0 and continues it
afterwards), so memory holds one frame's tensors plus the tracker's state, whatever the
length of the video: no whole-video tensor is built. Results per frame are
``TrackDataSample`` s (one ``DetDataSample`` with ``pred_track_instances`` on the CPU, masks at
the input size); per video the YouTube-VIS records of
:func:`mmsgnet.evaluation.video_to_ytvis_results` (masks kept as RLE while the video runs).

Example::

    from mmsgnet.apis import VideoInferencer
    inferencer = VideoInferencer('configs/sgnet/sgnet_r18_fpn_generated-ytvis.py',
                                 'work_dirs/sgnet/iter_1200.pth', device='cpu')
    for frame in inferencer.stream('video.mp4'):      # one TrackDataSample per frame
        print(frame[0].pred_track_instances.instances_id)
    video = inferencer('video.mp4')                   # YouTube-VIS records per track
"""
from typing import Iterator, List, Optional

import numpy as np

from .frame_sources import FrameSource, open_frames
from .model_loading import InferenceError, init_vis_model


def build_frame_pipeline(cfg):
    """The config's test pipeline fed with a decoded frame: the image loader becomes
    ``LoadImageFromNDArray`` and annotation loaders are dropped."""
    from mmengine.dataset import Compose

    from mmsgnet.datasets import inference_pipeline
    pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline')
    if not pipeline or pipeline[-1]['type'] != 'PackTrackInputs' or not any(
            t['type'] == 'TransformBroadcaster' for t in pipeline):
        raise InferenceError('the config\'s test_dataloader.dataset.pipeline is not a video '
                             'pipeline (TransformBroadcaster(...) then PackTrackInputs); use a '
                             'video config or fix its test pipeline')
    return Compose(inference_pipeline(pipeline, from_ndarray=True))


def predict_frame(model, pipeline, img: np.ndarray, frame_id: int, num_frames: int = 0,
                  video_id: int = 0):
    """One frame (BGR array) through ``pipeline`` and ``model.test_step``, in video order.

    Returns:
        TrackDataSample: The frame, with ``pred_track_instances`` on the CPU.
    """
    import torch
    from mmengine.dataset import pseudo_collate
    data = pipeline(dict(img=[img], img_id=[frame_id], frame_id=[frame_id],
                         video_id=[video_id], video_length=[num_frames],
                         ori_video_length=[num_frames]))
    with torch.no_grad():
        video = model.test_step(pseudo_collate([data]))[0]
    frame = video[0]
    if 'masks' not in frame.pred_track_instances:
        raise InferenceError('the model predicts no masks (a tracking-only model?); pass a '
                             'video instance segmentation config')
    frame.pred_track_instances = frame.pred_track_instances.cpu()
    if 'pred_instances' in frame:
        del frame.pred_instances  # the untracked detections: not needed, and large
    return video


class VideoInferencer:
    """Video instance segmentation from Python.

    Args:
        config (str | Config): A video config of this repository.
        checkpoint (str, optional): Weights trained with it (refused, naming keys, when they
            do not fit); None keeps random weights.
        device (str, optional): Torch device; default ``cuda:0`` if available, else ``cpu``.
        cfg_options (dict, optional): Config overrides, e.g.
            ``{'model.detector.test_cfg.score_thr': 0.1}``.

    Attributes:
        model: The model (eval mode); ``model.cfg`` is the config.
        classes (list[str] | None): Class names (checkpoint meta, else the config).
    """

    def __init__(self, config, checkpoint: Optional[str] = None, device: Optional[str] = None,
                 cfg_options: Optional[dict] = None):
        self.model = init_vis_model(config, checkpoint, device, cfg_options)
        self.cfg = self.model.cfg
        self.classes = self.model.dataset_meta['classes']
        self.pipeline = build_frame_pipeline(self.cfg)
        self.reset()

    def reset(self) -> None:
        """Start a new video: the next frame is frame 0 and the tracker starts afresh."""
        self.frame_id = 0

    def predict_frame(self, img: np.ndarray, num_frames: int = 0):
        """The next frame of the current video (BGR uint8 array); the tracker continues from
        the previous call.

        Returns:
            TrackDataSample: One frame with ``pred_track_instances``.
        """
        result = predict_frame(self.model, self.pipeline, img, self.frame_id, num_frames)
        self.frame_id += 1
        return result

    def stream(self, frames) -> Iterator:
        """Per-frame results of a video (file, folder, iterable of arrays or
        :class:`FrameSource`), yielded as each frame is predicted; starts a new video."""
        source = open_frames(frames)
        self.reset()
        for img in source.frames:
            yield self.predict_frame(img, source.num_frames)

    def __call__(self, frames, with_track_id: bool = True) -> dict:
        """Predict a whole video; keeps each frame's tracks as RLE only.

        Returns:
            dict: ``video`` (name), ``width``, ``height``, ``num_frames``, ``classes`` and
            ``results``: one YouTube-VIS record per track (``video_id`` 1; category = label
            + 1; with ``track_id`` unless ``with_track_id=False``).
        """
        source = open_frames(frames)
        encoded = self.encoded_frames(source)
        return self.video_records(source, encoded, with_track_id)

    def encoded_frames(self, source: FrameSource, on_frame=None) -> List:
        """:func:`~mmsgnet.evaluation.encode_frame` of each frame's tracks; ``on_frame(img,
        result)`` is called on each frame first (e.g. to draw it)."""
        from mmsgnet.evaluation import encode_frame
        kept = []
        self.reset()
        for img in source.frames:
            result = self.predict_frame(img, source.num_frames)
            if on_frame is not None:
                on_frame(img, result)
            kept.append(encode_frame(result[0]))
        return kept

    def video_records(self, source: FrameSource, encoded: List,
                      with_track_id: bool = True) -> dict:
        """The per-video document of :meth:`__call__` from :meth:`encoded_frames`."""
        from mmsgnet.evaluation import video_to_ytvis_results
        return dict(video=source.name, width=source.width, height=source.height,
                    num_frames=len(encoded), classes=self.classes,
                    results=video_to_ytvis_results(encoded, video_id=1,
                                                   with_track_id=with_track_id))
