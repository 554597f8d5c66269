"""Small helpers for COCO-style annotation files: mask encodings and atomic JSON writing."""
import json
from typing import List, Union

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from ..utils.atomic import write_atomically


def encode_rle(mask: np.ndarray) -> dict:
    """Encode a binary mask as compressed COCO RLE with ``counts`` as a str (JSON-ready).

    Args:
        mask (np.ndarray): (H, W) bool or {0, 1} array.

    Returns:
        dict: ``{'size': [H, W], 'counts': str}``.
    """
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {'size': [int(v) for v in rle['size']], 'counts': rle['counts'].decode('ascii')}


def mask_to_polygons(mask: np.ndarray) -> List[List[int]]:
    """Outer contours of a binary mask as COCO polygons ``[x1, y1, x2, y2, ...]``.

    Holes are not represented, and a part with fewer than 3 vertices is dropped, so decode the
    result (:func:`decode_segmentation`) to get the mask the polygons actually describe.

    Args:
        mask (np.ndarray): (H, W) bool or {0, 1} array.

    Returns:
        list[list[int]]: One flat coordinate list per part; empty when nothing is left.
    """
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).tolist() for c in contours if len(c) >= 3]


def segmentation_to_rle(segmentation: Union[list, dict], height: int, width: int) -> dict:
    """Turn any COCO segmentation (polygons, uncompressed or compressed RLE) into one RLE.

    Args:
        segmentation (list | dict): The ``segmentation`` field of an annotation.
        height (int): Image height, used for polygons and uncompressed RLE.
        width (int): Image width.

    Returns:
        dict: A compressed RLE accepted by ``pycocotools.mask`` functions.
    """
    if isinstance(segmentation, list):
        return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    if isinstance(segmentation['counts'], list):
        return mask_utils.frPyObjects(segmentation, height, width)
    return segmentation


def decode_segmentation(segmentation: Union[list, dict], height: int, width: int) -> np.ndarray:
    """Decode a COCO segmentation to a (H, W) uint8 {0, 1} mask.

    Args:
        segmentation (list | dict): Polygons, uncompressed or compressed RLE.
        height (int): Image height.
        width (int): Image width.

    Returns:
        np.ndarray: The binary mask.
    """
    return mask_utils.decode(segmentation_to_rle(segmentation, height, width))


def dump_json_atomic(obj, path: str) -> str:
    """Write ``obj`` as compact JSON so that ``path`` is either complete or untouched.

    The data goes to a temporary file in the same folder which then replaces ``path``
    (``os.replace`` is atomic on one file system); on any error the temporary file is removed.

    Args:
        obj: JSON-serialisable object.
        path (str): Destination file; its folder is created if needed.

    Returns:
        str: ``path``.
    """
    return write_atomically(
        path, lambda f: json.dump(obj, f, separators=(',', ':')), mode='w')
