"""Run a video instance segmentation (VIS) model on a video and render its tracks.

    python tools/video_demo.py INPUT CONFIG CHECKPOINT --out OUT.mp4 [--json OUT.json]
        [--device cpu|cuda:0] [--score-thr 0.3] [--fps N] [--cfg-options k=v ...]

INPUT is a video file (anything OpenCV's FFmpeg backend decodes: mp4, avi, mkv, ...) or a
folder of frames (jpg/jpeg/png/bmp, in name order, numbers compared as numbers). CONFIG is a
video config of this repository (e.g. ``configs/sgnet/sgnet_r18_fpn_generated-ytvis.py``,
``configs/sipmask_vis/sipmask-vis_r50-caffe_fpn_gn-head_1x_youtubevis2019.py``) and
CHECKPOINT the weights trained with it; a checkpoint whose keys or shapes do not match the
config is refused, naming a few offending keys.

Each frame goes through the config's own test pipeline (the frame replaces the image loader,
annotation loaders are dropped), the model predicts the frames in order (its tracker starts
afresh at frame 0), and predictions come back at the original size. Outputs:

- ``--out``: the input with one colour per track id (stable across frames), masks, boxes and
  ``<id> <class> <score>`` labels of the detections with score >= ``--score-thr``; same
  frame count and size as the input, at the input's frame rate (``--fps`` overrides it; a
  frame folder has none and defaults to 6). ``.mp4``/``.m4v``/``.mov``/``.mkv`` are written
  with the ``mp4v`` codec, ``.avi`` with ``MJPG``.
- ``--json`` (optional): the video in the YouTube-VIS results format plus the tracker's ids::

      {"video": "<input name>", "width": W, "height": H, "num_frames": T,
       "classes": ["person", ...],
       "results": [{"video_id": 1, "category_id": c, "score": s, "track_id": i,
                    "segmentations": [RLE or null, one per frame]}, ...]}

  one record per track id (``mmsgnet.evaluation.video_to_ytvis_results``): category =
  majority label + 1 (``classes[category_id - 1]`` is its name), score = mean detection
  score. It keeps every tracked detection (``--score-thr`` only affects drawing; the model's
  own ``test_cfg.score_thr`` applies).

Class names come from the checkpoint's ``meta.dataset_meta`` if it has them, else from the
config's test dataset (``metainfo.classes``, or the YouTube-VIS ``dataset_version``).
Outputs are written to temporary files beside the targets and renamed when everything has
succeeded, so a failed run leaves nothing behind. User errors (missing or unreadable input,
not a video config, a checkpoint that does not fit) exit with status 1 and one message
naming the cause and the fix.
"""
import argparse
import colorsys
import importlib.util
import os
import os.path as osp
import re
import sys
import tempfile
from typing import Iterator, List, NamedTuple, Optional, Sequence

import cv2
import numpy as np

if importlib.util.find_spec('mmsgnet') is None:  # run from a checkout without installing
    sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
FOURCC_BY_EXTENSION = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.mkv': 'mp4v',
                       '.avi': 'MJPG'}
DEFAULT_FOLDER_FPS = 6.0
MAX_KEYS_NAMED = 3


class DemoError(Exception):
    """A problem the user can fix; the message names the cause and the fix."""


# ------------------------------------------------------------------ arguments
def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Run a video instance segmentation model on a video (file or frame '
        'folder) and write the video with its tracks drawn, plus an optional '
        'YouTube-VIS-style JSON.')
    parser.add_argument('input', help='video file, or folder of frames (jpg/png, name order)')
    parser.add_argument('config', help='video (VIS) config, e.g. '
                        'configs/sgnet/sgnet_r18_fpn_generated-ytvis.py')
    parser.add_argument('checkpoint', help='weights trained with CONFIG (.pth)')
    parser.add_argument('--out', required=True,
                        help='output video (.mp4, .m4v, .mov, .mkv or .avi)')
    parser.add_argument('--json', help='also write the tracks as YouTube-VIS-style JSON')
    parser.add_argument('--device', default=None,
                        help='torch device (default: cuda:0 if available, else cpu)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw detections with at least this score (default: 0.3)')
    parser.add_argument('--fps', type=float, default=None,
                        help='frame rate of the output (default: the input video\'s; '
                        f'{DEFAULT_FOLDER_FPS:g} for a frame folder)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value '
                        '(e.g. model.detector.test_cfg.score_thr=0.1)')
    args = parser.parse_args(argv)
    if args.fps is not None and args.fps <= 0:
        parser.error(f'--fps must be positive, got {args.fps:g}')
    if osp.splitext(args.out)[1].lower() not in FOURCC_BY_EXTENSION:
        parser.error(f'--out {args.out}: unsupported extension; use one of '
                     f"{', '.join(sorted(FOURCC_BY_EXTENSION))}")
    if args.json and osp.abspath(args.json) == osp.abspath(args.out):
        parser.error('--json and --out name the same file; give them different names')
    return args


def default_device() -> str:
    import torch
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def check_device(device: str) -> None:
    """Refuse a CUDA device that torch cannot see."""
    import torch
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise DemoError(f'--device {device} asked for, but torch sees no CUDA device; '
                        'pass --device cpu')


# ------------------------------------------------------------------ input frames
class FrameSource(NamedTuple):
    """Frames of the input in order (BGR uint8), read lazily.

    ``num_frames`` is exact for a folder and the container's count for a video (0 when
    unknown; used for the progress bar and the frames' metainfo only); ``fps`` is None for a
    folder.
    """
    name: str
    num_frames: int
    fps: Optional[float]
    width: int
    height: int
    frames: Iterator[np.ndarray]


def open_frames(path: str) -> FrameSource:
    """A :class:`FrameSource` for a video file or a folder of frames."""
    if not osp.exists(path):
        raise DemoError(f'input {path} does not exist; pass a video file or a folder of '
                        'frames')
    if osp.isdir(path):
        return _folder_frames(path)
    return _video_frames(path)


def _natural_key(name: str):
    """Sort key comparing digit runs as numbers: frame_2 < frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r'(\d+)', name)]


def _folder_frames(folder: str) -> FrameSource:
    names = sorted((n for n in os.listdir(folder)
                    if osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS), key=_natural_key)
    if not names:
        raise DemoError(f'folder {folder} has no frames ({", ".join(IMAGE_EXTENSIONS)} '
                        'files); put the frames there or pass a video file')
    paths = [osp.join(folder, n) for n in names]
    first = _read_image(paths[0])
    height, width = first.shape[:2]

    def frames():
        yield first
        for path in paths[1:]:
            img = _read_image(path)
            if img.shape[:2] != (height, width):
                raise DemoError(f'frame {path} is {img.shape[1]}x{img.shape[0]}, the first '
                                f'frame {width}x{height}; give every frame one size')
            yield img

    return FrameSource(osp.basename(osp.normpath(folder)), len(paths), None, width, height,
                       frames())


def _read_image(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise DemoError(f'cannot decode frame {path}; replace or remove the file')
    return img


def _video_frames(path: str) -> FrameSource:
    capture = cv2.VideoCapture(path)
    ok, first = capture.read() if capture.isOpened() else (False, None)
    if not ok:
        capture.release()
        raise DemoError(f'OpenCV cannot read a frame of {path} (not a video, corrupt, or '
                        'zero frames); convert it, e.g. ffmpeg -i INPUT -c:v libx264 out.mp4, '
                        'or extract its frames into a folder and pass the folder')
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    height, width = first.shape[:2]

    def frames():
        try:
            yield first
            while True:
                ok, img = capture.read()
                if not ok:
                    return
                yield img
        finally:
            capture.release()

    return FrameSource(osp.splitext(osp.basename(path))[0], max(count, 0),
                       fps if fps > 0 else None, width, height, frames())


# ------------------------------------------------------------------ model
def load_vis_config(path: str, cfg_options: Optional[dict] = None):
    """The config at ``path`` (with overrides), checked to describe a video model; sets its
    default registry scope."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmsgnet  # noqa: F401  (registers the plugin)
    if not osp.isfile(path):
        raise DemoError(f'config {path} does not exist; pass a video config such as '
                        'configs/sgnet/sgnet_r18_fpn_generated-ytvis.py')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:
        raise DemoError(f'cannot parse config {path}: {err}; fix the file') from err
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = cfg.get('model', {})
    if 'detector' not in model or 'tracker' not in model:
        raise DemoError(
            f"config {path} describes a {model.get('type', 'model')} without a tracker, not a "
            'video instance segmentation model; pass a video config (configs/sgnet/*.py or '
            'configs/sipmask_vis/*.py), or use tools/test.py for image models')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return cfg


def build_frame_pipeline(cfg):
    """The config's test pipeline fed with a decoded frame: the image loader becomes
    ``LoadImageFromNDArray`` and annotation loaders are dropped."""
    from mmengine.dataset import Compose

    from mmsgnet.datasets import inference_pipeline
    pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline')
    if not pipeline or pipeline[-1]['type'] != 'PackTrackInputs' or not any(
            t['type'] == 'TransformBroadcaster' for t in pipeline):
        raise DemoError('the config\'s test_dataloader.dataset.pipeline is not a video '
                        'pipeline (TransformBroadcaster(...) then PackTrackInputs); use a '
                        'video config or fix its test pipeline')
    return Compose(inference_pipeline(pipeline, from_ndarray=True))


def read_checkpoint(path: str):
    """(state dict, meta) of a checkpoint file (``module.`` prefixes removed)."""
    from mmengine.runner.checkpoint import _load_checkpoint
    if '://' not in path and not osp.isfile(path):
        raise DemoError(f'checkpoint {path} does not exist; pass the .pth file trained with '
                        'the config')
    try:
        ckpt = _load_checkpoint(path, map_location='cpu')
    except Exception as err:
        raise DemoError(f'cannot load checkpoint {path} ({_load_error_reason(err)}): not a '
                        'torch.save file, or it holds objects that the weights-only loader '
                        'refuses; pass a checkpoint written by tools/train.py or '
                        'torch.save') from err
    if not isinstance(ckpt, dict):
        raise DemoError(f'checkpoint {path} holds a {type(ckpt).__name__}, not a state dict; '
                        "save {'state_dict': model.state_dict()} instead")
    state_dict = ckpt.get('state_dict', ckpt)
    state_dict = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    return state_dict, ckpt.get('meta') or {}


def _load_error_reason(err: Exception) -> str:
    """The useful line of a ``torch.load`` error (torch's weights-only errors are long)."""
    text = str(err)
    if 'WeightsUnpickler error:' in text:
        text = text.split('WeightsUnpickler error:', 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


def checkpoint_mismatch(model_state: dict, ckpt_state: dict) -> Optional[str]:
    """A sentence naming the keys missing from / unexpected in / of another shape in the
    checkpoint, or None when it fits the model exactly."""
    missing = [k for k in model_state if k not in ckpt_state]
    unexpected = [k for k in ckpt_state if k not in model_state]
    shapes = [f'{k} (checkpoint {tuple(ckpt_state[k].shape)}, model '
              f'{tuple(model_state[k].shape)})' for k in ckpt_state
              if k in model_state and hasattr(ckpt_state[k], 'shape')
              and tuple(ckpt_state[k].shape) != tuple(model_state[k].shape)]
    parts = [f'{len(keys)} {what} (e.g. {", ".join(keys[:MAX_KEYS_NAMED])})'
             for what, keys in (('missing keys', missing), ('unexpected keys', unexpected),
                                ('shape mismatches', shapes)) if keys]
    if not parts:
        return None
    if any(k.startswith('detector.') for k in model_state) and not any(
            k.startswith('detector.') for k in ckpt_state):
        parts.append('it looks like an image model\'s checkpoint (no detector.* keys)')
    return '; '.join(parts)


def build_model(cfg, checkpoint: str, device: str):
    """The VIS model of ``cfg`` with the weights of ``checkpoint`` (eval mode) and the
    checkpoint's meta."""
    from mmdet.models.mot import BaseMOTModel
    from mmdet.registry import MODELS
    state_dict, meta = read_checkpoint(checkpoint)
    model = MODELS.build(cfg.model)
    if not isinstance(model, BaseMOTModel):
        raise DemoError(f'the config builds a {type(model).__name__}, not a video model '
                        '(BaseMOTModel); pass a video config')
    problem = checkpoint_mismatch(model.state_dict(), state_dict)
    if problem:
        raise DemoError(f'checkpoint {checkpoint} does not match the config: {problem}; '
                        'pass the checkpoint trained with this config, or the config it was '
                        'trained with')
    model.load_state_dict(state_dict, strict=True)
    return model.to(device).eval(), meta


def class_names(cfg, meta: dict) -> Optional[List[str]]:
    """Class names: the checkpoint's ``dataset_meta``, else the config's test dataset."""
    from mmsgnet.datasets import ytvis_class_names
    dataset_meta = meta.get('dataset_meta') or {}
    classes = dataset_meta.get('classes') or dataset_meta.get('CLASSES')
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    if not classes:
        classes = (dataset.get('metainfo') or {}).get('classes')
    if not classes and dataset.get('dataset_version') in ('2019', '2021'):
        classes = ytvis_class_names(dataset['dataset_version'])
    return list(classes) if classes else None


def predict_frame(model, pipeline, img: np.ndarray, frame_id: int, num_frames: int):
    """``pred_track_instances`` of one frame (on the CPU), predicted in video order."""
    import torch
    from mmengine.dataset import pseudo_collate
    data = pipeline(dict(img=[img], img_id=[frame_id], frame_id=[frame_id], video_id=[0],
                         video_length=[num_frames], ori_video_length=[num_frames]))
    with torch.no_grad():
        video = model.test_step(pseudo_collate([data]))[0]
    pred = video[0].pred_track_instances.cpu()
    if 'masks' not in pred:
        raise DemoError('the model predicts no masks (a tracking-only model?); pass a video '
                        'instance segmentation config')
    return pred


# ------------------------------------------------------------------ drawing
def track_color(track_id: int) -> tuple:
    """BGR colour of a track id: hues spaced by the golden ratio, so neighbouring ids differ."""
    hue = (int(track_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(255 * b), int(255 * g), int(255 * r)


def draw_tracks(img: np.ndarray, pred, classes: Optional[Sequence[str]],
                score_thr: float, alpha: float = 0.5) -> np.ndarray:
    """A copy of ``img`` (BGR) with the masks, boxes and ``<id> <class> <score>`` labels of
    the detections with score >= ``score_thr``."""
    out = img.copy()
    keep = (pred.scores >= score_thr).nonzero().flatten().tolist()
    for i in keep:  # masks first, so that every label stays readable
        mask = pred.masks[i].numpy().astype(bool)
        color = np.array(track_color(pred.instances_id[i]), dtype=np.float32)
        out[mask] = (out[mask] * (1 - alpha) + color * alpha).astype(np.uint8)
    thickness = max(1, round(min(img.shape[:2]) / 300))
    for i in keep:
        color = track_color(pred.instances_id[i])
        x1, y1, x2, y2 = (int(round(v)) for v in pred.bboxes[i].tolist())
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness)
        label = int(pred.labels[i])
        name = classes[label] if classes and label < len(classes) else f'class{label}'
        _draw_label(out, f'{int(pred.instances_id[i])} {name} {float(pred.scores[i]):.2f}',
                    (x1, y1), color)
    return out


def _draw_label(img: np.ndarray, text: str, corner: tuple, color: tuple) -> None:
    """``text`` on a filled box of ``color`` above ``corner`` (inside the image)."""
    scale = max(0.3, min(img.shape[:2]) / 900)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x = min(max(corner[0], 0), max(img.shape[1] - w, 0))
    y = corner[1] - h - base if corner[1] - h - base >= 0 else max(corner[1], 0)
    cv2.rectangle(img, (x, y), (x + w, y + h + base), color, -1)
    light = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2] > 140
    cv2.putText(img, text, (x, y + h), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (0, 0, 0) if light else (255, 255, 255), 1, cv2.LINE_AA)


# ------------------------------------------------------------------ outputs
def check_output_folder(path: str) -> None:
    """Create the folder of ``path`` and make sure a file can be written there."""
    folder = osp.dirname(osp.abspath(path))
    if osp.exists(folder) and not osp.isdir(folder):
        raise DemoError(f'cannot write {path}: {folder} is a file, not a folder; pick '
                        'another output path')
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise DemoError(f'cannot write {path}: folder {folder} is not writable '
                        f'({err.strerror or err}); pick another output path') from err


def missing_folder(path: str) -> Optional[str]:
    """The outermost folder above ``path`` that does not exist yet (None if all do): what
    writing ``path`` creates, and :func:`remove_empty_folders` takes back on failure."""
    missing, folder = None, osp.dirname(osp.abspath(path))
    while not osp.exists(folder):
        missing, folder = folder, osp.dirname(folder)
    return missing


def remove_empty_folders(tops) -> None:
    """Remove each folder in ``tops`` (and its subfolders) if nothing was written there."""
    for top in filter(None, tops):
        for folder, _, _ in os.walk(top, topdown=False):
            try:
                os.rmdir(folder)
            except OSError:  # not empty, or gone
                pass


class VideoOutput:
    """A video written to a temporary file beside ``path``, renamed to ``path`` by
    :meth:`commit`; :meth:`discard` (or a failure) removes the temporary file."""

    def __init__(self, path: str, fps: float, width: int, height: int):
        self.path = path
        ext = osp.splitext(path)[1]
        handle, self.tmp_path = tempfile.mkstemp(
            prefix=f'.{osp.basename(path)}.', suffix=f'.tmp{ext}',
            dir=osp.dirname(osp.abspath(path)))
        os.close(handle)
        fourcc = FOURCC_BY_EXTENSION[ext.lower()]
        self.writer = cv2.VideoWriter(self.tmp_path, cv2.VideoWriter_fourcc(*fourcc), fps,
                                      (width, height))
        if not self.writer.isOpened():
            self.discard()
            raise DemoError(f'OpenCV cannot write {ext} videos with the {fourcc} codec in '
                            'this build; pick another extension for --out (.avi or .mp4)')
        self.num_frames = 0

    def write(self, img: np.ndarray) -> None:
        self.writer.write(img)
        self.num_frames += 1

    def commit(self) -> None:
        self.writer.release()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(self.tmp_path, self.path)

    def discard(self) -> None:
        self.writer.release()
        if osp.exists(self.tmp_path):
            os.remove(self.tmp_path)


def video_json(source: FrameSource, frames: Sequence, classes) -> dict:
    """The ``--json`` document: the video's name, size and classes, and one YouTube-VIS
    record (with ``track_id``) per track."""
    from mmsgnet.evaluation import video_to_ytvis_results
    return dict(video=source.name, width=source.width, height=source.height,
                num_frames=len(frames), classes=classes,
                results=video_to_ytvis_results(frames, video_id=1, with_track_id=True))


# ------------------------------------------------------------------ main
def render_video(model, pipeline, source: FrameSource, output: VideoOutput, classes,
                 score_thr: float, keep_tracks: bool) -> list:
    """Predict the frames in order, write each one drawn to ``output``; returns the frames'
    tracked instances when ``keep_tracks`` (for the JSON; masks as RLE, so that a long video's
    predictions stay small), else an empty list."""
    from mmengine.utils import ProgressBar

    from mmsgnet.evaluation import encode_frame
    kept = []
    progress = ProgressBar(source.num_frames, file=sys.stdout)
    for frame_id, img in enumerate(source.frames):
        pred = predict_frame(model, pipeline, img, frame_id, source.num_frames)
        output.write(draw_tracks(img, pred, classes, score_thr))
        if keep_tracks:
            kept.append(encode_frame(pred))
        progress.update()
    sys.stdout.write('\n')
    return kept


def run_demo(args) -> dict:
    """Check the inputs, predict and draw, then write the outputs; returns a summary of
    what was written."""
    device = args.device or default_device()
    check_device(device)
    source = open_frames(args.input)
    outputs = list(filter(None, (args.out, args.json)))
    created = [missing_folder(path) for path in outputs]
    try:
        for path in outputs:
            check_output_folder(path)
        return write_outputs(args, device, source)
    except BaseException:
        remove_empty_folders(created)
        raise


def write_outputs(args, device: str, source: FrameSource) -> dict:
    """Build the model, render ``source`` into ``--out`` and write ``--json``; a failure
    leaves neither output behind."""
    cfg = load_vis_config(args.config, args.cfg_options)
    pipeline = build_frame_pipeline(cfg)
    model, meta = build_model(cfg, args.checkpoint, device)
    classes = class_names(cfg, meta)
    fps = args.fps or source.fps or DEFAULT_FOLDER_FPS
    output = VideoOutput(args.out, fps, source.width, source.height)
    summary = dict(out=args.out, fps=fps, width=source.width, height=source.height)
    try:
        frames = render_video(model, pipeline, source, output, classes, args.score_thr,
                              keep_tracks=bool(args.json))
        if args.json:
            from mmsgnet.datasets import dump_json_atomic
            document = video_json(source, frames, classes)
            dump_json_atomic(document, args.json)
            summary.update(json=args.json, num_tracks=len(document['results']))
        output.commit()
    except BaseException:
        output.discard()
        raise
    summary.update(num_frames=output.num_frames)
    return summary


def main(argv=None) -> dict:
    args = parse_args(argv)
    try:
        summary = run_demo(args)
    except DemoError as err:
        sys.exit(f'error: {err}')
    tracks = f" and {summary['json']} ({summary['num_tracks']} tracks)" \
        if 'json' in summary else ''
    print(f"Wrote {summary['out']} ({summary['num_frames']} frames, {summary['width']}x"
          f"{summary['height']}, {summary['fps']:g} fps){tracks}")
    return summary


if __name__ == '__main__':
    main()
