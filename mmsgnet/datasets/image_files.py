"""Checks that an image file on disk can be read, used by the annotation validator and by
:class:`~mmsgnet.datasets.transforms.StrictLoadImageFromFile`.

OpenCV decodes a truncated JPEG without an error (the missing rows come out grey), so a cheap
trailer check comes first: a JPEG must end with its end-of-image marker and a PNG with its
``IEND`` chunk. Only when that check fails (some cameras append data after the marker), or
when a full decode is asked for, is the file decoded.

A full decode of a JPEG goes through OpenCV's libjpeg and counts the file as corrupt when
libjpeg warns about its data ("Corrupt JPEG data: ...", "Premature end of JPEG file"): that
is how damage *inside* a file with an intact end marker shows (OpenCV and Pillow both return
an image with a grey or garbled band and no error). libjpeg prints these warnings on the
process's standard error, so the decode captures file descriptor 2 while it runs. Damage that
still decodes into a consistent bit stream (some short random runs do) cannot be told from a
real image by any decoder. Other formats are decoded with Pillow (PNG chunk checksums are
verified too).
"""
import contextlib
import io
import os
import os.path as osp
import sys
import tempfile
import threading
from typing import Optional, Tuple

import cv2
import numpy as np
from PIL import Image

from ..utils.errors import UserError

_JPEG_MAGIC, _JPEG_END = b'\xff\xd8\xff', b'\xff\xd9'
_PNG_MAGIC, _PNG_END = b'\x89PNG\r\n\x1a\n', b'IEND'
#: Hint added to every error about an unreadable image.
IMAGE_FIX = ('re-extract or re-download the file (or regenerate the dataset), or remove its '
             'record from the annotation file; `python tools/dataset_converters/'
             'check_dataset.py ANN_FILE --img-dir DIR --decode` lists every unreadable image')


#: Start of the libjpeg warnings that mean the compressed data is damaged.
_LIBJPEG_DAMAGE = ('Corrupt JPEG data', 'Premature end of JPEG file')
_STDERR_LOCK = threading.Lock()


class ImageFileError(UserError, OSError):
    """An image or video frame file is missing, empty, truncated or not decodable."""


@contextlib.contextmanager
def _captured_stderr_fd():
    """Redirect file descriptor 2 into a temporary file; yields a list that receives the
    captured text when the block ends (one thread at a time)."""
    captured = []
    with _STDERR_LOCK, tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            captured.append(capture.read().decode('utf-8', errors='replace'))


def _decode_jpeg(data: bytes) -> Tuple[Optional[np.ndarray], Optional[str]]:
    """Decode JPEG bytes with OpenCV; returns the image (``None`` if undecodable) and the
    first libjpeg warning about damaged data, if any."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        with _captured_stderr_fd() as captured:
            image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except OSError:  # no usable file descriptor 2: decode without listening
        return cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED), None
    warning = None
    for line in captured[0].splitlines():
        if line.startswith(_LIBJPEG_DAMAGE):
            warning = warning or line.strip()
        elif line.strip():
            print(line, file=sys.stderr)  # not ours: pass it on
    return image, warning


def image_bytes_problem(data: bytes, decode: bool = False,
                        expected_size: Optional[Tuple[int, int]] = None) -> Optional[str]:
    """Say what is wrong with the bytes of an image file, if anything.

    Args:
        data (bytes): Whole file content.
        decode (bool): Always decode fully (a JPEG with libjpeg's damage warnings counted
            as errors) instead of only when the trailer check fails.
        expected_size (tuple[int, int], optional): (width, height) the image must have;
            checked only when the image is decoded.

    Returns:
        str | None: A description of the problem, or ``None`` for a good file.
    """
    if not data:
        return 'the file is empty (0 bytes)'
    suspicious = (data.startswith(_JPEG_MAGIC) and _JPEG_END not in data[-1024:]) or \
        (data.startswith(_PNG_MAGIC) and _PNG_END not in data[-64:])
    if not (suspicious or decode):
        return None
    image = None
    if data.startswith(_JPEG_MAGIC) and decode:
        image, warning = _decode_jpeg(data)
        if warning is not None:
            return f'the file is truncated or corrupt (libjpeg: {warning})'
    if image is not None:
        size = image.shape[1], image.shape[0]
    else:  # not a JPEG, or OpenCV refused it: Pillow says why
        try:
            if data.startswith(_PNG_MAGIC):
                with Image.open(io.BytesIO(data)) as image:
                    image.verify()  # chunk checksums
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                size = image.size
        except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, ...
            kind = 'truncated or corrupt' if suspicious else 'not a decodable image'
            return f'the file is {kind} ({type(error).__name__}: {error})'
        if data.startswith(_JPEG_MAGIC) and decode:
            return 'the file is not a decodable image (OpenCV cannot decode it)'
    if expected_size is not None and tuple(size) != tuple(expected_size):
        return (f'the image is {size[0]}x{size[1]} (WxH) but the annotation file says '
                f'{expected_size[0]}x{expected_size[1]}')
    return None


def image_file_problem(path: str, decode: bool = False,
                       expected_size: Optional[Tuple[int, int]] = None) -> Optional[str]:
    """Say what is wrong with an image file on the local disk, if anything.

    Without ``decode`` only existence is checked (fast, no file is opened).

    Args:
        path (str): Image path.
        decode (bool): Also read and decode the file (see :func:`image_bytes_problem`).
        expected_size (tuple[int, int], optional): (width, height) to compare with when
            decoding.

    Returns:
        str | None: A description of the problem, or ``None`` for a good file.
    """
    if not osp.isfile(path):
        return f"the image file '{path}' does not exist"
    if not decode:
        return None
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as error:
        return f"the image file '{path}' cannot be read ({error})"
    problem = image_bytes_problem(data, decode=True, expected_size=expected_size)
    return None if problem is None else f"'{path}': {problem}"
