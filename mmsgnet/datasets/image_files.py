"""Checks that an image file on disk can be read, used by the annotation validator and by
:class:`~mmsgnet.datasets.transforms.StrictLoadImageFromFile`.

OpenCV decodes a truncated JPEG without an error (the missing rows come out grey), so a cheap
trailer check comes first: a JPEG must end with its end-of-image marker and a PNG with its
``IEND`` chunk. Only when that check fails (some cameras append data after the marker), or
when a full decode is asked for, is the file decoded with Pillow, which does report
truncation.
"""
import io
import os.path as osp
from typing import Optional, Tuple

from PIL import Image

_JPEG_MAGIC, _JPEG_END = b'\xff\xd8\xff', b'\xff\xd9'
_PNG_MAGIC, _PNG_END = b'\x89PNG\r\n\x1a\n', b'IEND'
#: Hint added to every error about an unreadable image.
IMAGE_FIX = ('re-extract or re-download the file (or regenerate the dataset), or remove its '
             'record from the annotation file; `python tools/dataset_converters/'
             'check_dataset.py ANN_FILE --img-dir DIR --decode` lists every unreadable image')


class ImageFileError(OSError):
    """An image or video frame file is missing, empty, truncated or not decodable."""


def image_bytes_problem(data: bytes, decode: bool = False,
                        expected_size: Optional[Tuple[int, int]] = None) -> Optional[str]:
    """Say what is wrong with the bytes of an image file, if anything.

    Args:
        data (bytes): Whole file content.
        decode (bool): Always decode fully (slow) instead of only when the trailer check
            fails.
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
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            size = image.size
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, ...
        kind = 'truncated or corrupt' if suspicious else 'not a decodable image'
        return f'the file is {kind} ({type(error).__name__}: {error})'
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
