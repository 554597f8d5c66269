"""Frames of a video read lazily, one at a time: a video file (anything OpenCV's FFmpeg
backend decodes), a folder of frames (jpg/jpeg/png/bmp, in name order, numbers compared as
numbers) or an iterable of BGR ``uint8`` arrays (H, W, 3)."""
import os
import os.path as osp
import re
from typing import Iterable, Iterator, NamedTuple, Optional

import numpy as np

from .model_loading import InferenceError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


class FrameSource(NamedTuple):
    """Frames of the input in order (BGR uint8), read lazily.

    ``num_frames`` is exact for a folder and the container's count for a video (0 when
    unknown, e.g. for an iterator; used for progress bars and the frames' metainfo only);
    ``fps`` is None for a folder or an iterator.
    """
    name: str
    num_frames: int
    fps: Optional[float]
    width: int
    height: int
    frames: Iterator[np.ndarray]


def open_frames(source, name: Optional[str] = None) -> FrameSource:
    """A :class:`FrameSource` for a video file, a folder of frames or an iterable of arrays
    (a :class:`FrameSource` is returned as it is)."""
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not osp.exists(path):
            raise InferenceError(f'input {path} does not exist; pass a video file or a folder '
                                 'of frames')
        return _folder_frames(path) if osp.isdir(path) else _video_frames(path)
    return _array_frames(source, name or 'video')


def natural_key(name: str):
    """Sort key comparing digit runs as numbers: frame_2 < frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r'(\d+)', name)]


def _check_frame(img, what: str, size=None) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 \
            or img.dtype != np.uint8:
        raise InferenceError(f'{what} is not a BGR uint8 (H, W, 3) array '
                             f'({getattr(img, "dtype", type(img).__name__)}, '
                             f'{getattr(img, "shape", "")}); pass frames as cv2.imread gives '
                             'them')
    if size is not None and img.shape[:2] != size:
        raise InferenceError(f'{what} is {img.shape[1]}x{img.shape[0]}, the first frame '
                             f'{size[1]}x{size[0]}; give every frame one size')
    return img


def _array_frames(frames: Iterable[np.ndarray], name: str) -> FrameSource:
    num_frames = len(frames) if hasattr(frames, '__len__') else 0
    iterator = iter(frames)
    try:
        first = _check_frame(next(iterator), 'frame 0')
    except StopIteration:
        raise InferenceError('the frame iterator gave no frame; pass at least one') from None
    height, width = first.shape[:2]

    def generate():
        yield first
        for index, img in enumerate(iterator, 1):
            yield _check_frame(img, f'frame {index}', (height, width))

    return FrameSource(name, num_frames, None, width, height, generate())


def _folder_frames(folder: str) -> FrameSource:
    names = sorted((n for n in os.listdir(folder)
                    if osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS), key=natural_key)
    if not names:
        raise InferenceError(f'folder {folder} has no frames ({", ".join(IMAGE_EXTENSIONS)} '
                             'files); put the frames there or pass a video file')
    paths = [osp.join(folder, n) for n in names]
    first = read_image(paths[0])
    height, width = first.shape[:2]

    def frames():
        yield first
        for path in paths[1:]:
            img = read_image(path)
            if img.shape[:2] != (height, width):
                raise InferenceError(f'frame {path} is {img.shape[1]}x{img.shape[0]}, the '
                                     f'first frame {width}x{height}; give every frame one size')
            yield img

    return FrameSource(osp.basename(osp.normpath(folder)), len(paths), None, width, height,
                       frames())


def read_image(path: str) -> np.ndarray:
    """A BGR image file, or :class:`InferenceError` naming the file."""
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise InferenceError(f'cannot decode frame {path}; replace or remove the file')
    return img


def _video_frames(path: str) -> FrameSource:
    import cv2
    capture = cv2.VideoCapture(path)
    ok, first = capture.read() if capture.isOpened() else (False, None)
    if not ok:
        capture.release()
        raise InferenceError(
            f'OpenCV cannot read a frame of {path} (not a video, corrupt, or zero frames); '
            'convert it, e.g. ffmpeg -i INPUT -c:v libx264 out.mp4, or extract its frames '
            'into a folder and pass the folder')
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
