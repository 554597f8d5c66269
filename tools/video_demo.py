"""Run a video instance segmentation (VIS) model on a video and render its tracks.

    python tools/video_demo.py INPUT CONFIG CHECKPOINT --out OUT.mp4 [--json OUT.json]
        [--device cpu|cuda:0] [--score-thr 0.3] [--fps N] [--cfg-options k=v ...]
        [--gt ANN_FILE [--gt-video NAME]]

INPUT is a video file (anything OpenCV's FFmpeg backend decodes: mp4, avi, mkv, ...) or a
folder of frames (jpg/jpeg/png/bmp, in name order, numbers compared as numbers). CONFIG is a
video config of this repository (e.g. ``configs/sgnet/sgnet_r18_fpn_generated-ytvis.py``,
``configs/sipmask_vis/sipmask-vis_r50-caffe_fpn_gn-head_1x_youtubevis2019.py``) and
CHECKPOINT the weights trained with it; a checkpoint whose keys or shapes do not match the
config is refused, naming a few offending keys.

A thin command line over :class:`mmsgnet.apis.VideoInferencer`: each frame goes through the
config's own test pipeline (the frame replaces the image loader, annotation loaders are
dropped), the model predicts the frames in order, one at a time (its tracker starts afresh at
frame 0), and predictions come back at the original size; memory does not grow with the
video's length. Outputs:

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
  own ``test_cfg.score_thr`` applies). ``"tracks"`` has numbers of the tracks that need no
  ground truth (``mmsgnet.evaluation.track_statistics``): ``num_tracks``,
  ``mean_track_length`` (frames a track is seen in) and ``num_short_tracks`` (seen in at most
  2 frames); an object split between ids shows as more, shorter tracks.
- ``--gt ANN_FILE`` (optional): the official YouTube-VIS annotations of the input (e.g. the
  generator's ``annotations/instances.json``) and ``--gt-video NAME`` the video in it (its
  frames' folder name; default: the input's name). The JSON then has ``"identity": {"IDSW",
  "IDF1", "IDTP", "IDFP", "IDFN", "gt_video"}``: CLEAR-MOT ID switches and IDF1 of the tracks
  on masks (IoU >= 0.5, ``mmsgnet.evaluation.identity_summary``), also printed. The file,
  the video's presence, its frame count and size are checked before the model runs.

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
import signal
import sys
import tempfile
import threading
from typing import Optional, Sequence

import cv2
import numpy as np

if importlib.util.find_spec('mmsgnet') is None:  # run from a checkout without installing
    sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmsgnet.apis import (FrameSource, InferenceError, build_frame_pipeline,  # noqa: E402,F401
                          check_device, class_names, default_device, init_vis_model,
                          load_vis_config, open_frames)
from mmsgnet.apis import predict_frame as _predict_frame  # noqa: E402
from mmsgnet.utils.errors import UserError  # noqa: E402

FOURCC_BY_EXTENSION = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.mkv': 'mp4v',
                       '.avi': 'MJPG'}
DEFAULT_FOLDER_FPS = 6.0
#: the demo's user errors are the API's (kept under the old name for callers of the demo)
DemoError = InferenceError


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
    parser.add_argument('--gt', metavar='ANN_FILE',
                        help='official YouTube-VIS annotations of the input: adds ID switches '
                        'and IDF1 of the tracks (printed, and "identity" in --json)')
    parser.add_argument('--gt-video', metavar='NAME',
                        help='the video in --gt (the folder name of its frames; default: the '
                        "input's name)")
    args = parser.parse_args(argv)
    if args.gt_video is not None and args.gt is None:
        parser.error('--gt-video names a video of the --gt file; give --gt ANN_FILE too')
    if args.fps is not None and args.fps <= 0:
        parser.error(f'--fps must be positive, got {args.fps:g}')
    if osp.splitext(args.out)[1].lower() not in FOURCC_BY_EXTENSION:
        parser.error(f'--out {args.out}: unsupported extension; use one of '
                     f"{', '.join(sorted(FOURCC_BY_EXTENSION))}")
    if args.json and osp.abspath(args.json) == osp.abspath(args.out):
        parser.error('--json and --out name the same file; give them different names')
    for flag, path in (('--out', args.out), ('--json', args.json)):
        if path and _same_path(path, args.input):
            parser.error(f'{flag} {path} names the input; writing it would overwrite the '
                         'video being read: give the output another name')
    return args


def _same_path(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` name the same file (links and relative paths resolved)."""
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)
    return osp.realpath(a) == osp.realpath(b)


# ------------------------------------------------------------------ model (mmsgnet.apis)
def build_model(cfg, checkpoint: str, device: str):
    """The VIS model of ``cfg`` with the weights of ``checkpoint`` (eval mode) and the
    checkpoint's meta (``dict(dataset_meta=...)``)."""
    model = init_vis_model(cfg, checkpoint, device)
    return model, dict(dataset_meta=model.dataset_meta)


def predict_frame(model, pipeline, img: np.ndarray, frame_id: int, num_frames: int):
    """``pred_track_instances`` of one frame (on the CPU), predicted in video order."""
    return _predict_frame(model, pipeline, img, frame_id, num_frames)[0].pred_track_instances


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


def even_frames(source: FrameSource) -> FrameSource:
    """``source`` with its last column / row dropped where the width / height is odd.

    OpenCV's video writers (FFmpeg, all codecs) store odd sizes as the even size below; the
    demo crops the same pixels before predicting, so the video, the JSON's size and its masks
    describe the same frames."""
    width, height = source.width & ~1, source.height & ~1
    if (width, height) == (source.width, source.height):
        return source
    print(f'note: {source.name} is {source.width}x{source.height}; video codecs store even '
          f'sizes, so the frames are cropped to {width}x{height} (last column/row dropped) '
          'for the video and the JSON alike', file=sys.stderr)
    frames = (np.ascontiguousarray(img[:height, :width]) for img in source.frames)
    return source._replace(width=width, height=height, frames=frames)


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like Ctrl-C (KeyboardInterrupt), so the partial outputs and
    the folders created are removed on the way out."""


def _raise_terminated(signum, frame):
    raise Terminated()


# ------------------------------------------------------------------ main
def run_demo(args) -> dict:
    """Check the inputs, predict and draw, then write the outputs; returns a summary of
    what was written."""
    device = check_device(args.device or default_device())
    source = even_frames(open_frames(args.input))
    gt = None
    if args.gt:  # checked before any work; an odd-sized GT is cropped as the frames are
        from mmsgnet.evaluation import load_gt_video
        gt = load_gt_video(args.gt, args.gt_video or source.name, source.num_frames,
                           (source.height, source.width))
    outputs = list(filter(None, (args.out, args.json)))
    created = [missing_folder(path) for path in outputs]
    try:
        for path in outputs:
            check_output_folder(path)
        return write_outputs(args, device, source, gt)
    except BaseException:
        remove_empty_folders(created)
        raise


def write_outputs(args, device: str, source: FrameSource, gt=None) -> dict:
    """Build the model, render ``source`` into ``--out`` and write ``--json`` (with the
    identity against ``gt``, a :class:`~mmsgnet.evaluation.GTVideo`, when given); a failure
    leaves neither output behind."""
    from mmengine.utils import ProgressBar

    from mmsgnet.apis import VideoInferencer
    from mmsgnet.evaluation import identity_summary, track_statistics
    inferencer = VideoInferencer(args.config, args.checkpoint, device, args.cfg_options)
    fps = args.fps or source.fps or DEFAULT_FOLDER_FPS
    output = VideoOutput(args.out, fps, source.width, source.height)
    summary = dict(out=args.out, fps=fps, width=source.width, height=source.height)
    progress = ProgressBar(source.num_frames, file=sys.stdout)

    def draw(img, result):
        output.write(draw_tracks(img, result[0].pred_track_instances, inferencer.classes,
                                 args.score_thr))
        progress.update()

    try:
        encoded = inferencer.encoded_frames(source, on_frame=draw)
        sys.stdout.write('\n')
        document = inferencer.video_records(source, encoded)
        document['tracks'] = track_statistics(document['results'])
        if gt is not None:
            document['identity'] = identity_summary(gt, document['results'])
            summary.update(identity=document['identity'])
        summary.update(tracks=document['tracks'])
        if args.json:
            from mmsgnet.datasets import dump_json_atomic
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
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        summary = run_demo(args)
    except UserError as err:  # InferenceError, and the --gt file's errors
        sys.exit(f'error: {err}')
    except Terminated:
        print('error: terminated (SIGTERM); the partial outputs were removed',
              file=sys.stderr)
        sys.exit(128 + signal.SIGTERM)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    tracks = f" and {summary['json']} ({summary['num_tracks']} tracks)" \
        if 'json' in summary else ''
    print(f"Wrote {summary['out']} ({summary['num_frames']} frames, {summary['width']}x"
          f"{summary['height']}, {summary['fps']:g} fps){tracks}")
    if 'identity' in summary:
        identity = summary['identity']
        print(f"Identity against {identity['gt_video']!r} of {args.gt}: IDSW "
              f"{identity['IDSW']}, IDF1 {identity['IDF1']:.3f}")
    return summary


if __name__ == '__main__':
    main()
