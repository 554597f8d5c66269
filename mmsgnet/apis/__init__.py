"""Inference entry points (mmdet's ``mmdet.apis`` style): model loading with the checks every
tool shares, frame sources and the streaming :class:`VideoInferencer`. Image models run
through mmdet's own ``DetInferencer`` (see :func:`image_inferencer`)."""
from .frame_sources import FrameSource, natural_key, open_frames, read_image
from .image_inference import image_inferencer
from .model_loading import (InferenceError, check_device, checkpoint_mismatch, class_names,
                            config_path, default_device, init_model, init_vis_model, load_config,
                            load_vis_config, read_checkpoint, strip_pretrained)
from .video_inferencer import VideoInferencer, build_frame_pipeline, predict_frame

__all__ = [
    'InferenceError', 'check_device', 'checkpoint_mismatch', 'class_names', 'config_path',
    'strip_pretrained', 'default_device',
    'init_model', 'init_vis_model', 'load_config', 'load_vis_config', 'read_checkpoint',
    'FrameSource', 'natural_key', 'open_frames', 'read_image', 'VideoInferencer',
    'build_frame_pipeline', 'predict_frame', 'image_inferencer'
]
