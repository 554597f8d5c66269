"""Generated, learnable instance-segmentation data: COCO images and YouTube-VIS videos.

Objects are textured shapes on a textured background; the shape is the class. Objects vary
from small to large, overlap and occlude each other (the stored mask is the visible part and
objects left with a tiny visible part are removed from the picture), and in videos they move
smoothly, change scale and rotate, and leave the frame and come back.

Every file is a function of ``seed`` (image ``i`` / video ``i`` uses the seed sequence
``[seed, i]``), so the same arguments give identical JSON bytes and images. Images are written
first and the annotation file last and atomically, so a present annotation file means a
complete dataset.

Layouts written (one split per call; use different seeds for train and val):

- :func:`generate_coco_instance`: ``out_dir/images/000000.jpg ...`` and
  ``out_dir/annotations/instances.json`` (COCO instances).
- :func:`generate_youtube_vis`: ``out_dir/JPEGImages/video_0000/00000.jpg ...``,
  ``out_dir/annotations/instances.json`` (official YouTube-VIS format) and
  ``out_dir/annotations/instances_cocovid.json`` (its CocoVID conversion, read by mmdet's
  ``YouTubeVISDataset``).
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils
from tqdm import tqdm

from .coco_format import decode_segmentation, dump_json_atomic, encode_rle, mask_to_polygons
from .synthetic_render import (SHAPES, TEMPLATE_SIZE, compose_layers, random_texture,
                               shape_template, warp_object)
from .validation import validate_annotations
from .ytvis_convert import ytvis_to_cocovid

DEFAULT_IMAGE_CLASSES = ('ellipse', 'rectangle', 'triangle')
#: File names, relative to ``out_dir``, of the annotation files the generators write.
COCO_ANN_FILE = 'annotations/instances.json'
YTVIS_ANN_FILE = 'annotations/instances.json'
COCOVID_ANN_FILE = 'annotations/instances_cocovid.json'


def ytvis_class_names(dataset_version: str = '2019') -> Tuple[str, ...]:
    """The 40 class names of YouTube-VIS, exactly as mmdet's ``YouTubeVISDataset`` has them.

    ``YouTubeVISDataset.set_dataset_classes`` overwrites the class attribute ``METAINFO``; it
    is restored afterwards so that asking for the names changes nothing.

    Args:
        dataset_version (str): '2019' or '2021'.

    Returns:
        tuple[str]: Names in category-id order (id = index + 1).
    """
    from mmdet.datasets import YouTubeVISDataset
    saved = YouTubeVISDataset.__dict__.get('METAINFO')
    try:
        YouTubeVISDataset.set_dataset_classes(dataset_version)
        return tuple(YouTubeVISDataset.METAINFO['classes'])
    finally:
        if saved is None:
            del YouTubeVISDataset.METAINFO
        else:
            YouTubeVISDataset.METAINFO = saved


def _write_jpeg(path: str, image: np.ndarray, quality: int) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)]):
        raise OSError(f'Could not write {path}; check that the folder is writable.')


def _default_min_area(image_size: Tuple[int, int]) -> int:
    return max(16, int(0.001 * image_size[0] * image_size[1]))


def _make_object(rng: np.random.Generator, shape: str) -> Tuple[np.ndarray, np.ndarray]:
    """Template mask and vivid texture of one object."""
    mask = shape_template(rng, shape)
    return mask, random_texture(rng, TEMPLATE_SIZE, TEMPLATE_SIZE, saturation=1.6)


def _render_image(rng: np.random.Generator, image_size: Tuple[int, int], shapes: Sequence[str],
                  max_objects: int, min_area: int):
    """One still image of objects whose class ``c`` is drawn as ``shapes[c]``.

    Returns:
        tuple: The image and ``[(class_index, visible mask)]`` of the objects kept.
    """
    width, height = image_size
    short = min(width, height)
    background = random_texture(rng, height, width, saturation=0.5, noise_std=8.0)
    classes, layers = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        class_index = int(rng.integers(len(shapes)))
        template = _make_object(rng, shapes[class_index])
        size = short * np.exp(rng.uniform(np.log(0.15), np.log(0.8)))
        centre = (rng.uniform(0, width), rng.uniform(0, height))
        layers.append(warp_object(*template, centre, size, rng.uniform(0, 360), image_size))
        classes.append(class_index)
    image, visible = compose_layers(background, layers, min_area, min_visible_fraction=0.25)
    return image, [(c, m) for c, m in zip(classes, visible) if m is not None]


def _mask_record(mask: np.ndarray, mask_format: str) -> Optional[dict]:
    """``segmentation``/``area``/``bbox`` of a visible mask; area and bbox describe exactly
    what the stored segmentation decodes to. ``None`` if nothing is left."""
    height, width = mask.shape
    if mask_format == 'rle':
        segmentation = encode_rle(mask)
    else:
        segmentation = mask_to_polygons(mask)
        if not segmentation:
            return None
    rle = mask_utils.encode(np.asfortranarray(decode_segmentation(segmentation, height, width)))
    area = float(mask_utils.area(rle))
    if area <= 0:
        return None
    bbox = [float(v) for v in mask_utils.toBbox(rle)]
    return dict(segmentation=segmentation, area=area, bbox=bbox)


def _check_positive(**values: int) -> None:
    """Refuse a count below 1 before anything is written."""
    for name, value in values.items():
        if value < 1:
            raise ValueError(f'{name} must be >= 1, got {value}.')


def generate_coco_instance(out_dir: str,
                           num_images: int = 50,
                           image_size: Tuple[int, int] = (320, 240),
                           seed: int = 0,
                           classes: Sequence[str] = DEFAULT_IMAGE_CLASSES,
                           mask_format: str = 'rle',
                           max_objects: int = 6,
                           min_area: Optional[int] = None,
                           jpeg_quality: int = 90,
                           progress: bool = False) -> str:
    """Write a COCO instance-segmentation dataset of textured shapes.

    Args:
        out_dir (str): Output folder; gets ``images/`` and ``annotations/instances.json``.
        num_images (int): Number of images.
        image_size (tuple[int, int]): (width, height).
        seed (int): Non-negative seed; image ``i`` depends only on ``(seed, i)``.
        classes (Sequence[str]): Class names, each one of :data:`SHAPES` (the shape drawn);
            category ids are ``1..len(classes)`` in this order.
        mask_format (str): 'rle' (compressed RLE, counts as str) or 'polygon'.
        max_objects (int): Up to this many objects are drawn per image (at least one).
        min_area (int, optional): Objects whose visible area is smaller are removed. Defaults
            to ``max(16, 0.1% of the image area)``.
        jpeg_quality (int): JPEG quality of the written images.
        progress (bool): Show a progress bar.

    Returns:
        str: Path of the annotation file.
    """
    unknown = [c for c in classes if c not in SHAPES]
    if unknown or not classes:
        raise ValueError(f'classes must be a non-empty subset of {SHAPES}, got {tuple(classes)}.')
    if mask_format not in ('rle', 'polygon'):
        raise ValueError(f"mask_format must be 'rle' or 'polygon', got {mask_format!r}.")
    _check_positive(num_images=num_images, max_objects=max_objects)
    width, height = image_size
    min_area = _default_min_area(image_size) if min_area is None else min_area
    images, annotations = [], []
    for index in tqdm(range(num_images), desc='images', disable=not progress):
        rng = np.random.default_rng([seed, index])
        image, objects = _render_image(rng, image_size, classes, max_objects, min_area)
        file_name = f'{index:06d}.jpg'
        _write_jpeg(osp.join(out_dir, 'images', file_name), image, jpeg_quality)
        images.append(dict(id=index + 1, file_name=file_name, width=width, height=height))
        for class_index, mask in objects:
            record = _mask_record(mask, mask_format)
            if record is not None:
                annotations.append(
                    dict(id=len(annotations) + 1, image_id=index + 1,
                         category_id=class_index + 1, iscrowd=0, **record))
    categories = [
        dict(id=i + 1, name=name, supercategory='shape') for i, name in enumerate(classes)
    ]
    info = dict(description='mmsgnet generated COCO instances', version='1.0', seed=seed)
    dataset = dict(info=info, licenses=[], images=images, annotations=annotations,
                   categories=categories)
    return dump_json_atomic(dataset, osp.join(out_dir, COCO_ANN_FILE))


def _reflect(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Fold positions into [low, high] as if bouncing off both ends."""
    span = high - low
    folded = np.mod(values - low, 2 * span)
    return low + np.where(folded > span, 2 * span - folded, folded)


def _sample_track(rng: np.random.Generator, image_size: Tuple[int, int], num_frames: int,
                  leaves_frame: bool) -> Dict[str, np.ndarray]:
    """Per-frame centre, size and angle of one object.

    A drifting object bounces inside the frame; a passing one swings along a sine whose
    amplitude carries it out of the frame and back in.
    """
    width, height = image_size
    short = min(width, height)
    t = np.arange(num_frames, dtype=np.float64)
    base = short * np.exp(rng.uniform(np.log(0.2), np.log(0.5)))
    size = base * np.exp(rng.uniform(0.1, 0.35) *
                         np.sin(2 * np.pi * t / (rng.uniform(0.6, 1.5) * num_frames) +
                                rng.uniform(0, 2 * np.pi)))
    angle = rng.uniform(0, 360) + rng.uniform(-4, 4) * t
    if leaves_frame:
        period = rng.uniform(0.8, 1.2) * max(num_frames, 2)
        swing = np.sin(2 * np.pi * t / period + rng.uniform(-np.pi / 4, np.pi / 4))
        horizontal = bool(rng.integers(2))
        extent = width if horizontal else height
        along = extent / 2 + (extent / 2 + 1.2 * base) * swing
        other = (height if horizontal else width) * rng.uniform(0.3, 0.7) + \
            short * 0.05 * np.sin(2 * np.pi * t / max(num_frames, 2))
        x, y = (along, other) if horizontal else (other, along)
    else:
        speed = 0.04 * short
        x = _reflect(rng.uniform(0.25, 0.75) * width + rng.uniform(-speed, speed) * t,
                     0.15 * width, 0.85 * width)
        y = _reflect(rng.uniform(0.25, 0.75) * height + rng.uniform(-speed, speed) * t,
                     0.15 * height, 0.85 * height)
    return dict(x=x, y=y, size=size, angle=angle)


def _crossing_tracks(rng: np.random.Generator, image_size: Tuple[int, int], num_frames: int,
                     num_objects: int, faster: bool,
                     gap: float = 0.0) -> List[Dict[str, np.ndarray]]:
    """Tracks of a crossing video (``motion='crossing'``).

    Objects 0 and 1 move on straight lines through a common point near the centre, at the
    same speed (or object 1 1.5-2x faster when ``faster``), and are there in the middle frame
    (one occludes the other); object 2 stands still in a corner; object 3 leaves the frame
    through the left edge for 1-3 frames in the middle and comes back; further objects drift
    as in the default motion. With ``gap > 0`` object 1's line is shifted sideways by ``gap``
    times the objects' size, so in the middle frame their centres are that far apart (the
    front object hides part of the back one instead of all of it); the random draws are the
    same as with ``gap=0``.
    """
    width, height = image_size
    short = min(width, height)
    t = np.arange(num_frames, dtype=np.float64) - (num_frames - 1) / 2
    size = short * rng.uniform(0.25, 0.32)
    centre = np.array([width, height]) / 2 + rng.uniform(-0.08, 0.08, size=2) * short
    heading = rng.uniform(0, 2 * np.pi)
    turn = rng.uniform(np.pi / 3, 2 * np.pi / 3) * rng.choice([-1, 1])
    speed = 0.7 * short / max(num_frames, 2)
    tracks = []
    for k, direction in enumerate((heading, heading + turn)):
        v = speed * (rng.uniform(1.5, 2.0) if faster and k == 1 else 1.0)
        side = gap * size * k  # sideways (normal to the line) for object 1 only
        tracks.append(dict(x=centre[0] + v * np.cos(direction) * t - side * np.sin(direction),
                           y=centre[1] + v * np.sin(direction) * t + side * np.cos(direction),
                           size=np.full(num_frames, size), angle=np.full(num_frames, 0.0) +
                           rng.uniform(0, 360)))
    if num_objects > 2:  # standing still in a corner
        corner = rng.integers(2, size=2)
        x = 0.15 * width + 0.7 * width * corner[0]
        y = 0.15 * height + 0.7 * height * corner[1]
        tracks.append(dict(x=np.full(num_frames, x), y=np.full(num_frames, y),
                           size=np.full(num_frames, 0.8 * size),
                           angle=np.full(num_frames, rng.uniform(0, 360))))
    if num_objects > 3:  # out through the left edge and back, out for about 3 frames
        x = -0.6 * size + size * np.maximum(np.abs(t) - 0.5, 0)
        tracks.append(dict(x=x, y=np.full(num_frames, height * rng.uniform(0.3, 0.7)),
                           size=np.full(num_frames, 0.8 * size),
                           angle=np.full(num_frames, rng.uniform(0, 360))))
    for _ in range(4, num_objects):
        tracks.append(_sample_track(rng, image_size, num_frames, leaves_frame=False))
    return tracks


def _render_video(rng: np.random.Generator, image_size: Tuple[int, int], num_frames: int,
                  num_classes: int, max_objects: int, min_area: int,
                  objects_leave: bool = True, motion: str = 'random',
                  similar_appearance: bool = False, faster: bool = False,
                  crossing_gap: float = 0.0):
    """Frames and per-object visible masks of one video.

    Returns:
        tuple: list of T images, list of object class indices, and per object a list of T
        visible masks (``None`` where the object is absent).
    """
    width, height = image_size
    margin = int(0.1 * min(width, height)) + 1
    big_background = random_texture(rng, height + 2 * margin, width + 2 * margin,
                                    saturation=0.5, noise_std=6.0)
    pan_start, pan_end = rng.integers(0, 2 * margin + 1, size=(2, 2))
    num_objects = int(rng.integers(2, max(max_objects, 2) + 1))
    if motion == 'crossing':  # two crossing, one standing still, (one leaving and back)
        num_objects = max(max_objects, 3)
    classes = [int(rng.integers(num_classes)) for _ in range(num_objects)]
    templates = [_make_object(rng, SHAPES[c]) for c in classes]
    if similar_appearance:  # one class, near-identical textures
        classes = [classes[0]] * num_objects
        texture = templates[0][1]
        templates = [(shape_template(rng, SHAPES[classes[0]]),
                      np.clip(texture + rng.normal(0, 4.0, size=texture.shape), 0, 255)
                      .astype(texture.dtype)) for _ in range(num_objects)]
    if motion == 'crossing':
        tracks = _crossing_tracks(rng, image_size, num_frames, num_objects, faster,
                                  crossing_gap)
    else:
        # object 0 always stays in the frame, object 1 always leaves it and comes back
        # (unless objects_leave is False: then every object stays in view)
        tracks = [_sample_track(rng, image_size, num_frames, leaves_frame=objects_leave and (
            k == 1 or (k > 1 and bool(rng.integers(2))))) for k in range(num_objects)]
    depth_order = rng.permutation(num_objects)
    frames, masks = [], [[] for _ in range(num_objects)]
    for t in range(num_frames):
        ox, oy = np.round(pan_start + (pan_end - pan_start) * t / max(num_frames - 1, 1))
        background = big_background[int(oy):int(oy) + height, int(ox):int(ox) + width]
        layers = [
            warp_object(*templates[k], (tracks[k]['x'][t], tracks[k]['y'][t]),
                        tracks[k]['size'][t], tracks[k]['angle'][t], image_size)
            for k in depth_order
        ]
        image, visible = compose_layers(background, layers, min_area, min_visible_fraction=0.2)
        noise = rng.normal(0, 2.0, size=image.shape)
        frames.append(np.clip(image + noise, 0, 255).astype(np.uint8))
        for layer_index, k in enumerate(depth_order):
            masks[k].append(visible[layer_index])
    return frames, classes, masks


def _track_annotation(masks: List[Optional[np.ndarray]]) -> Optional[dict]:
    """Per-frame ``segmentations``/``bboxes``/``areas`` (official YTVIS), ``None`` if the
    object is never visible."""
    segmentations, bboxes, areas = [], [], []
    for mask in masks:
        record = None if mask is None else _mask_record(mask, 'rle')
        segmentations.append(None if record is None else record['segmentation'])
        bboxes.append(None if record is None else record['bbox'])
        areas.append(None if record is None else record['area'])
    if all(s is None for s in segmentations):
        return None
    return dict(segmentations=segmentations, bboxes=bboxes, areas=areas)


MOTIONS = ('random', 'crossing', 'mixed')


def video_motion(motion: str, index: int) -> str:
    """The motion of video ``index`` of a dataset generated with ``motion``: with 'mixed',
    videos ``4k`` and ``4k + 1`` cross (at equal speeds, then one faster) and the others move
    at random."""
    if motion != 'mixed':
        return motion
    return 'crossing' if index % 4 < 2 else 'random'


def generate_youtube_vis(out_dir: str,
                         num_videos: int = 8,
                         num_frames: int = 30,
                         image_size: Tuple[int, int] = (320, 240),
                         seed: int = 0,
                         num_classes: int = 3,
                         max_objects: int = 4,
                         objects_leave: bool = True,
                         dataset_version: str = '2019',
                         min_area: Optional[int] = None,
                         jpeg_quality: int = 90,
                         progress: bool = False,
                         motion: str = 'random',
                         similar_appearance: bool = False,
                         crossing_gap: float = 0.0) -> Dict[str, str]:
    """Write a YouTube-VIS video instance-segmentation dataset of moving textured shapes.

    The annotation file uses the official YouTube-VIS format and all 40 categories of
    ``dataset_version`` (names as in mmdet's ``YouTubeVISDataset``), so mmdet reads the
    converted file unchanged; objects only use the first ``num_classes`` categories, the
    k-th drawn as ``SHAPES[k]``. Each video has 2..``max_objects`` objects: one stays in the
    frame, one leaves it and comes back, the others do either.

    Args:
        out_dir (str): Output folder; gets ``JPEGImages/<video>/<frame>.jpg``,
            ``annotations/instances.json`` (official format) and
            ``annotations/instances_cocovid.json`` (CocoVID, for ``YouTubeVISDataset``).
        num_videos (int): Number of videos.
        num_frames (int): Frames per video.
        image_size (tuple[int, int]): (width, height).
        seed (int): Non-negative seed; video ``i`` depends only on ``(seed, i)``.
        num_classes (int): Categories used, 1..``len(SHAPES)``.
        max_objects (int): Most objects per video (at least 2 are drawn).
        objects_leave (bool): Let objects leave the frame and come back (default). False:
            every object stays in view (e.g. a held-out video for an id-consistency test).
        dataset_version (str): '2019' or '2021' category list.
        min_area (int, optional): An object whose visible area in a frame is smaller is
            absent from that frame. Defaults to ``max(16, 0.1% of the image area)``.
        jpeg_quality (int): JPEG quality of the written frames.
        progress (bool): Show a progress bar.
        motion (str): 'random' (default: the motion above) or 'crossing': in every video two
            objects cross on straight lines through one point in the middle frame (one
            occludes the other; same speed in even videos, the second 1.5-2x faster in odd
            ones), a third stands still, a fourth (``max_objects >= 4``) leaves the frame for
            1-3 frames and returns; every video has ``max(max_objects, 3)`` objects (a
            held-out split for identity; needs ``num_frames >= 5``). 'mixed': videos
            ``4k`` and ``4k + 1`` crossing, the others random (training data with both).
        similar_appearance (bool): All objects of a video have one class and near-identical
            textures (appearance cannot tell them apart). Default False.
        crossing_gap (float): With a crossing video, how far apart the two crossing objects'
            centres are in the middle frame, in units of their size: 0 (default) through one
            point (the front object hides most or all of the back one), 0.5 the front one
            hides up to about half of the back one (a crossing whose objects stay in view).
            In [0, 2].

    Returns:
        dict[str, str]: ``{'ytvis': official json path, 'cocovid': converted json path}``.
    """
    if motion not in MOTIONS:
        raise ValueError(f'motion must be one of {MOTIONS}, got {motion!r}.')
    if motion != 'random' and num_frames < 5:
        raise ValueError(f"motion={motion!r} needs num_frames >= 5 (objects cross in the "
                         f'middle frame), got {num_frames}.')
    if not 0 <= crossing_gap <= 2:
        raise ValueError(f'crossing_gap must be in [0, 2] (units of the objects\' size), got '
                         f'{crossing_gap}.')
    if not 1 <= num_classes <= len(SHAPES):
        raise ValueError(f'num_classes must be in 1..{len(SHAPES)}, got {num_classes}.')
    _check_positive(num_videos=num_videos, num_frames=num_frames, max_objects=max_objects)
    names = ytvis_class_names(dataset_version)
    width, height = image_size
    min_area = _default_min_area(image_size) if min_area is None else min_area
    videos, annotations = [], []
    for index in tqdm(range(num_videos), desc='videos', disable=not progress):
        rng = np.random.default_rng([seed, index])
        frames, classes, masks = _render_video(rng, image_size, num_frames, num_classes,
                                               max_objects, min_area, objects_leave,
                                               video_motion(motion, index),
                                               similar_appearance, faster=index % 2 == 1,
                                               crossing_gap=crossing_gap)
        video_name = f'video_{index:04d}'
        file_names = [f'{video_name}/{t:05d}.jpg' for t in range(num_frames)]
        for file_name, frame in zip(file_names, frames):
            _write_jpeg(osp.join(out_dir, 'JPEGImages', file_name), frame, jpeg_quality)
        videos.append(dict(id=index + 1, width=width, height=height, length=num_frames,
                           file_names=file_names))
        for class_index, track_masks in zip(classes, masks):
            track = _track_annotation(track_masks)
            if track is not None:
                annotations.append(
                    dict(id=len(annotations) + 1, video_id=index + 1,
                         category_id=class_index + 1, iscrowd=0, **track, width=width,
                         height=height, length=num_frames))
    info = dict(description=f'mmsgnet generated YouTube-VIS {dataset_version}', version='1.0',
                seed=seed)
    categories = [dict(id=i + 1, name=name, supercategory='object') for i, name in
                  enumerate(names)]
    dataset = dict(info=info, licenses=[], videos=videos, annotations=annotations,
                   categories=categories)
    ytvis_path = osp.join(out_dir, YTVIS_ANN_FILE)
    validate_annotations(dataset, 'ytvis', ytvis_path)  # both files or neither
    cocovid = ytvis_to_cocovid(dataset)
    dump_json_atomic(dataset, ytvis_path)
    cocovid_path = dump_json_atomic(cocovid, osp.join(out_dir, COCOVID_ANN_FILE))
    return dict(ytvis=ytvis_path, cocovid=cocovid_path)
