"""Conversion of official YouTube-VIS annotations (2019 or 2021) to CocoVID.

The official format has one annotation per *track* with per-frame lists (``None`` where the
object is absent); mmdet's ``YouTubeVISDataset`` reads CocoVID: one image record per frame and
one annotation per (track, frame) where the object is present. Instance ids are numbered from
1 in file order (mmdet treats ``instance_id == 0`` as missing); image ids are numbered from 1
in video then frame order; video ids and category ids are kept. Per-frame boxes or areas that
are ``None`` while the mask is present are computed from the mask. A file without annotations
(the official valid/test splits) converts to videos and images with an empty annotation list.
"""
import os.path as osp
from collections import defaultdict
from typing import Dict

import pycocotools.mask as mask_utils

from .coco_format import dump_json_atomic, segmentation_to_rle
from .validation import (AnnotationFileError, detect_annotation_format, load_annotation_json,
                         validate_annotations)


def _video_name(video: dict) -> str:
    first = video['file_names'][0].replace('\\', '/')
    return first.rsplit('/', 1)[0] if '/' in first else f"video_{video['id']}"


def ytvis_to_cocovid(ytvis: dict) -> dict:
    """Convert loaded official YouTube-VIS annotations to CocoVID (no validation).

    Args:
        ytvis (dict): Official-format annotations, as validated by
            :func:`~mmsgnet.datasets.validation.validate_annotations` with ``fmt='ytvis'``.

    Returns:
        dict: CocoVID annotations with ``info``, ``licenses``, ``categories``, ``videos``
        (``id``, ``name``, ``width``, ``height``), ``images`` (``id``, ``file_name``,
        ``height``, ``width``, ``frame_id``, ``video_id``) and ``annotations`` (``id``,
        ``video_id``, ``image_id``, ``category_id``, ``instance_id``, ``bbox``,
        ``segmentation``, ``area``, ``iscrowd``).
    """
    tracks_by_video = defaultdict(list)
    for track in ytvis.get('annotations') or []:
        tracks_by_video[track['video_id']].append(track)
    out = dict(info=ytvis.get('info', {}), licenses=ytvis.get('licenses', []),
               categories=ytvis['categories'], videos=[], images=[], annotations=[])
    next_instance_id = 1
    for video in ytvis['videos']:
        video_id, width, height = video['id'], video['width'], video['height']
        out['videos'].append(dict(id=video_id, name=_video_name(video), width=width,
                                  height=height))
        first_image_id = len(out['images']) + 1
        for frame_id, file_name in enumerate(video['file_names']):
            out['images'].append(dict(id=first_image_id + frame_id, file_name=file_name,
                                      height=height, width=width, frame_id=frame_id,
                                      video_id=video_id))
        for track in tracks_by_video[video_id]:
            segmentations = track['segmentations']
            bboxes = track.get('bboxes') or [None] * len(segmentations)
            areas = track.get('areas') or [None] * len(segmentations)
            present = False
            for frame_id, (segmentation, bbox, area) in enumerate(
                    zip(segmentations, bboxes, areas)):
                if segmentation is None:
                    continue
                present = True
                if bbox is None or area is None:
                    rle = segmentation_to_rle(segmentation, height, width)
                    bbox = [float(v) for v in mask_utils.toBbox(rle)] if bbox is None else bbox
                    area = float(mask_utils.area(rle)) if area is None else area
                out['annotations'].append(
                    dict(id=len(out['annotations']) + 1, video_id=video_id,
                         image_id=first_image_id + frame_id, category_id=track['category_id'],
                         instance_id=next_instance_id, bbox=bbox, segmentation=segmentation,
                         area=area, iscrowd=track.get('iscrowd', 0)))
            next_instance_id += int(present)
    return out


def convert_ytvis_to_cocovid(in_json: str, out_json: str) -> Dict[str, int]:
    """Validate an official YouTube-VIS file and write its CocoVID conversion atomically.

    Args:
        in_json (str): Official YouTube-VIS 2019/2021 annotation file.
        out_json (str): Output path; written through a temporary file, so it is either
            complete or left as it was.

    Returns:
        dict[str, int]: ``num_videos``, ``num_images``, ``num_annotations`` and
        ``num_instances`` of the output.

    Raises:
        AnnotationFileError: If ``in_json`` is unreadable, malformed or already CocoVID.
        ValueError: If ``out_json`` is ``in_json``.
    """
    if osp.realpath(out_json) == osp.realpath(in_json):
        raise ValueError(f"The output '{out_json}' would overwrite the input '{in_json}'. "
                         'Fix: give another output path (the official file is still needed, '
                         'e.g. to check or convert it again).')
    ytvis = load_annotation_json(in_json)
    if detect_annotation_format(ytvis) == 'cocovid' and isinstance(ytvis.get('images'), list):
        raise AnnotationFileError(in_json, [
            "top level: is already CocoVID ('videos' without 'file_names', plus 'images' with "
            "'video_id'/'frame_id'), not the official YouTube-VIS format. Fix: nothing to "
            'convert; use it as it is (`python tools/dataset_converters/check_dataset.py` '
            'validates it)'])
    validate_annotations(ytvis, 'ytvis', in_json, allow_empty=True)
    cocovid = ytvis_to_cocovid(ytvis)
    dump_json_atomic(cocovid, out_json)
    instances = {ann['instance_id'] for ann in cocovid['annotations']}
    return dict(num_videos=len(cocovid['videos']), num_images=len(cocovid['images']),
                num_annotations=len(cocovid['annotations']), num_instances=len(instances))
