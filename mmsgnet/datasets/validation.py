"""Validation of annotation files before training, with errors that say how to fix them.

Three formats are understood:

- ``'coco'``: COCO instances (``images``, ``annotations``, ``categories``);
- ``'cocovid'``: CocoVID, what mmdet's video datasets read (COCO plus ``videos``, and per
  image ``video_id``/``frame_id``, per annotation ``video_id``/``instance_id``);
- ``'ytvis'``: the official YouTube-VIS 2019/2021 format (``videos`` with ``file_names``,
  one annotation per track with per-frame ``segmentations``/``bboxes``/``areas``).

Annotations must carry masks (``segmentation``), since the models of this project segment.
Every problem found is collected and reported at once in an :class:`AnnotationFileError`
whose message names the file, each record (e.g. ``annotation id=12 (image id=3)``), the
problem and the fix. An annotation file with no annotations is an error unless
``allow_empty=True`` (used for test splits whose ground truth is hidden): training on it would
silently learn nothing. Image files are checked for existence when ``img_dir`` is given, and
fully decoded with ``decode_images=True``.
"""
import contextlib
import json
import math
import multiprocessing
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

from ..utils.errors import UserError
from .image_files import IMAGE_FIX, image_file_problem

FORMATS = ('coco', 'cocovid', 'ytvis')
_CONVERT_HINT = ('convert it first with `python tools/dataset_converters/ytvis2cocovid.py '
                 'IN_JSON OUT_JSON`')


class AnnotationFileError(UserError, ValueError):
    """An annotation file is unreadable or malformed.

    Args:
        ann_file (str): The file.
        problems (list[str]): One ``'<record>: <problem>. Fix: <fix>'`` line per problem.
    """

    MAX_SHOWN = 20

    def __init__(self, ann_file: str, problems: Sequence[str]):
        self.ann_file, self.problems = ann_file, list(problems)
        shown = '\n  - '.join(self.problems[:self.MAX_SHOWN])
        more = len(self.problems) - self.MAX_SHOWN
        message = (f"Invalid annotation file '{ann_file}' ({len(self.problems)} problem(s)):"
                   f'\n  - {shown}' + (f'\n  ... and {more} more' if more > 0 else ''))
        super().__init__(message)

    def __reduce__(self):
        return self.__class__, (self.ann_file, self.problems)


class _Report:
    """Collects problems of one file. Compressed RLE strings are queued with
    :meth:`add_rle` and decoded together (one vectorised pass) by :meth:`raise_if_any`."""

    def __init__(self, ann_file: str):
        self.ann_file, self.problems, self.rles = ann_file, [], []

    def add(self, record: str, problem: str, fix: str) -> None:
        self.problems.append(f'{record}: {problem}. Fix: {fix}')

    def add_rle(self, record: str, counts: str, height: int, width: int, fix: str) -> None:
        self.rles.append((record, counts, height * width, fix))

    def check_rles(self) -> None:
        totals = compressed_rle_totals([counts for _, counts, _, _ in self.rles])
        for (record, _, pixels, fix), total in zip(self.rles, totals):
            if total is None:
                self.add(record, 'RLE counts is not a valid compressed COCO RLE string', fix)
            elif total != pixels:
                self.add(record, 'RLE counts decode to run lengths that do not add up to '
                         f'height*width={pixels} (they add up to {total})', fix)
        self.rles = []

    def raise_if_any(self) -> None:
        self.check_rles()
        if self.problems:
            raise AnnotationFileError(self.ann_file, self.problems)


def _run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """For each element of a sorted array, the index of the first element equal to it."""
    new = np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]])
    return np.maximum.accumulate(np.where(new, np.arange(len(sorted_keys)), 0))


def compressed_rle_totals(strings: Sequence[str]) -> List[Optional[int]]:
    """Decode compressed COCO RLE ``counts`` strings (pycocotools' ``rleFrString``) and
    return the number of pixels each one covers (the sum of its run lengths), or ``None`` for
    a string that is not valid: characters outside ``'0'..'o'``, a last run length cut off,
    a run length above 2**35 or a negative one. A mask is valid when its total is
    ``height * width``; pycocotools itself would read past its buffer or return garbage.

    All strings are decoded in one vectorised pass (YouTube-VIS train has ~10**5 masks).

    Args:
        strings (Sequence[str]): The ``counts`` strings.

    Returns:
        list[int | None]: Per string, the total of its run lengths or ``None``.
    """
    num = len(strings)
    valid = np.array([s.isascii() for s in strings], dtype=bool)
    lengths = np.array([len(s) if ok else 0 for s, ok in zip(strings, valid)], dtype=np.int64)
    if not lengths.sum():
        return [0 if ok else None for ok in valid]
    data = ''.join(s for s, ok in zip(strings, valid) if ok).encode('ascii')
    c = np.frombuffer(data, dtype=np.uint8).astype(np.int64) - 48
    owner = np.repeat(np.arange(num), lengths)
    valid &= np.bincount(owner, (c < 0) | (c > 63), minlength=num) == 0
    c = np.clip(c, 0, 63)
    ends = (c & 0x20) == 0  # a character without the continuation bit ends a number
    last = np.cumsum(lengths)[lengths > 0] - 1
    valid[owner[last[~ends[last]]]] = False  # the string stops inside a number
    ends[last] = True  # keep numbers inside their string
    starts = np.flatnonzero(np.concatenate([[True], ends[:-1]]))
    number = np.cumsum(np.concatenate([[0], ends[:-1]]))  # number index of each character
    shift = np.arange(len(c)) - starts[number]
    valid &= np.bincount(owner, shift > 6, minlength=num) == 0  # 7 characters = 35 bits
    shift = np.minimum(shift, 6)
    values = np.add.reduceat((c & 0x1f) << (5 * shift), starts)
    end_chars = np.flatnonzero(ends)
    negative = (c[end_chars] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * (shift[end_chars][negative] + 1))
    # counts[m] += counts[m - 2] for m > 2: a cumulative sum over each string's odd run
    # lengths, and one over its even run lengths from the third on
    string = owner[starts]
    index = np.arange(len(values)) - _run_starts(string)
    group = string * 3 + np.where(index == 0, 0, np.where(index % 2, 1, 2))
    order = np.lexsort((index, group))
    sums = np.cumsum(values[order])
    group_sorted = group[order]
    first = _run_starts(group_sorted)
    counts = np.empty_like(values)
    counts[order] = sums - np.concatenate([[0], sums])[first]
    valid &= np.bincount(string, counts < 0, minlength=num) == 0
    totals = np.bincount(string, weights=counts, minlength=num)
    return [int(t) if ok else None for t, ok in zip(totals, valid)]


def load_annotation_json(ann_file: str) -> dict:
    """Read a JSON annotation file, turning every failure into an :class:`AnnotationFileError`.

    Args:
        ann_file (str): Path of the file.

    Returns:
        dict: The parsed content (its type is checked by the validators).
    """
    report = _Report(ann_file)
    try:
        with open(ann_file, 'rb') as f:
            return json.loads(f.read())
    except FileNotFoundError:
        report.add('file', 'does not exist', 'check `data_root` and `ann_file` in the config, '
                   'or generate/convert the annotations first')
    except OSError as error:
        report.add('file', f'cannot be read ({error})', 'check the file permissions')
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        report.add('file', f'is not valid JSON ({error})', 'the file is truncated or corrupt; '
                   're-download, re-convert or regenerate it')
    report.raise_if_any()


def detect_annotation_format(data: dict) -> str:
    """Guess the format of loaded annotations: 'ytvis', 'cocovid' or 'coco'.

    Args:
        data (dict): Parsed annotation file.

    Returns:
        str: 'ytvis' if videos carry ``file_names``, 'cocovid' if there are videos and images,
        else 'coco'.
    """
    videos = data.get('videos') if isinstance(data, dict) else None
    if isinstance(videos, list) and videos and isinstance(videos[0], dict) \
            and 'file_names' in videos[0]:
        return 'ytvis'
    return 'cocovid' if isinstance(videos, list) else 'coco'


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _missing_keys(record: dict, keys: Iterable[str]) -> List[str]:
    return [key for key in keys if key not in record]


def _check_top_level(data, keys: Sequence[str], fmt: str, report: _Report,
                     allow_empty: bool) -> bool:
    """Top-level type and keys; ``False`` if nothing else can be checked."""
    if not isinstance(data, dict):
        report.add('top level', f'is a JSON {type(data).__name__}, not an object',
                   f'a {fmt} file is an object with keys {list(keys)}')
        return False
    if fmt in ('coco', 'cocovid') and detect_annotation_format(data) == 'ytvis':
        report.add('top level', 'is in the official YouTube-VIS format (videos with '
                   "'file_names'), not CocoVID", _CONVERT_HINT)
        return False
    good = True
    for key in keys:
        value = data.get(key)
        if key == 'annotations' and allow_empty and value is None:
            continue
        if key not in data:
            report.add('top level', f"missing key '{key}'",
                       f"add the '{key}' list (a {fmt} file needs {list(keys)})")
            good = False
        elif not isinstance(value, list):
            report.add('top level', f"'{key}' is a {type(value).__name__}, not a list",
                       f"make '{key}' a JSON list")
            good = False
    return good


def _check_records(records: list, kind: str, keys: Sequence[str], report: _Report,
                   int_keys: Sequence[str] = ('id', ),
                   rejected: Optional[set] = None) -> Dict[int, dict]:
    """Per-record required keys, integer ids and unique ids; returns the good records by id
    and adds the integer ids of the records it reported to ``rejected`` (so that records
    pointing to them are not reported a second time as pointing nowhere)."""
    by_id = {}
    rejected = set() if rejected is None else rejected
    for position, record in enumerate(records):
        name = f'{kind} #{position}'
        if not isinstance(record, dict):
            report.add(name, f'is a {type(record).__name__}, not an object',
                       f'each {kind} must be a JSON object')
            continue
        if _is_int(record.get('id')):
            name = f"{kind} id={record['id']}"
            rejected.add(record['id'])  # until it passes the checks below
        missing = _missing_keys(record, keys)
        if missing:
            report.add(name, f'missing key(s) {missing}', f'add {missing} to every {kind}')
            continue
        bad = [key for key in int_keys if not _is_int(record[key])]
        if bad:
            report.add(name, f'{bad} must be integers', f'store {bad} as JSON integers')
            continue
        if record['id'] in by_id:
            report.add(name, 'duplicate id', f'give every {kind} a unique id')
            continue
        by_id[record['id']] = record
    rejected -= set(by_id)
    return by_id


def _check_categories(data: dict, report: _Report, classes: Optional[Sequence[str]]) -> set:
    categories = _check_records(data['categories'], 'category', ('id', 'name'), report)
    if not categories:
        report.add('categories', 'is empty', 'list the dataset categories with ids and names')
    if classes is not None and categories:
        names = {c['name'] for c in categories.values()}
        missing = [name for name in classes if name not in names]
        if missing:
            report.add('categories', f'the dataset classes {missing} are not among the category '
                       f'names {sorted(names)}', 'set `metainfo=dict(classes=...)` (or '
                       '`dataset_version`) in the config to the names in this file')
    return set(categories)


def _size_problem(record: dict) -> Optional[str]:
    width, height = record.get('width'), record.get('height')
    if not (_is_int(width) and _is_int(height) and width > 0 and height > 0):
        return f'width/height must be positive integers, got {width!r}/{height!r}'
    return None


def _bbox_problem(bbox, width: int, height: int) -> Optional[str]:
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        return f'bbox {bbox!r} is not 4 finite numbers [x, y, w, h]'
    x, y, w, h = bbox
    if w < 0 or h < 0:
        return f'bbox {bbox} has a negative width or height (expected [x, y, w, h])'
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        return f'bbox {bbox} lies outside the {width}x{height} image'
    return None


def _segmentation_problem(segmentation, width: int, height: int) -> Optional[str]:
    if isinstance(segmentation, list):
        if not segmentation:
            return 'segmentation is an empty polygon list'
        for polygon in segmentation:
            try:  # one C call per polygon: real COCO has about a million of them
                finite = isinstance(polygon, list) and math.isfinite(math.fsum(polygon))
            except TypeError:
                finite = False
            if not finite:
                return 'a polygon is not a list of finite numbers'
            if len(polygon) < 6 or len(polygon) % 2:
                return (f'a polygon has {len(polygon)} coordinates; it needs an even number '
                        '>= 6 (3 points)')
        return None
    if not isinstance(segmentation, dict):
        return f'segmentation is a {type(segmentation).__name__}, not polygons or RLE'
    counts, size = segmentation.get('counts'), segmentation.get('size')
    if counts is None or size is None:
        return "RLE segmentation needs both 'counts' and 'size'"
    if list(size) != [height, width]:
        return f'RLE size {size} (HxW) does not match the image size [{height}, {width}]'
    if isinstance(counts, list):
        if not all(_is_int(c) and c >= 0 for c in counts) or sum(counts) != height * width:
            return f'uncompressed RLE counts do not add up to height*width={height * width}'
    elif not isinstance(counts, str):
        return f'RLE counts is a {type(counts).__name__}, not a str or a list of ints'
    return None


def _check_segmentation(segmentation, name: str, width: int, height: int, report: _Report,
                        fix: str) -> None:
    """Report a bad segmentation; queue a compressed RLE for the batched decoding check."""
    problem = _segmentation_problem(segmentation, width, height)
    if problem:
        report.add(name, problem, fix)
    elif isinstance(segmentation, dict) and isinstance(segmentation['counts'], str):
        report.add_rle(name, segmentation['counts'], height, width, fix)


def _check_instance(ann: dict, name: str, width: int, height: int, categories: set,
                    report: _Report) -> None:
    """Fields shared by COCO and CocoVID annotations."""
    if ann['category_id'] not in categories:
        report.add(name, f"category_id {ann['category_id']} is not in 'categories'",
                   'use one of the category ids listed in the file, or add the category')
    problem = _bbox_problem(ann['bbox'], width, height)
    if problem:
        report.add(name, problem, 'store boxes as [x, y, width, height] in pixels inside the '
                   'image, or drop the annotation')
    if not (_is_number(ann['area']) and ann['area'] >= 0):
        report.add(name, f"area {ann['area']!r} is not a number >= 0",
                   'store the mask area in pixels')
    if ann.get('iscrowd', 0) not in (0, 1):
        report.add(name, f"iscrowd {ann['iscrowd']!r} is not 0 or 1", 'use 0 or 1')
    _check_segmentation(ann['segmentation'], name, width, height, report, 'store masks as '
                        'polygons or RLE with size [height, width] of the image they belong to')


def _file_problem(task: tuple) -> Optional[str]:
    return image_file_problem(*task)


def _check_images_on_disk(files: List[tuple], img_dir: Optional[str], decode: bool,
                          report: _Report, progress: bool, workers: int = 0) -> None:
    """``files``: (record name, file name, (width, height)) triples. With ``decode`` and
    ``workers > 1`` the files are decoded by that many forked processes."""
    if img_dir is None:
        return
    tasks = [(osp.join(img_dir, file_name), decode, size) for _, file_name, size in files]
    parallel = decode and workers > 1 and len(tasks) > workers and \
        not multiprocessing.current_process().daemon  # (daemons may not have children)
    with contextlib.ExitStack() as stack:
        if parallel:
            pool = stack.enter_context(multiprocessing.get_context('fork').Pool(workers))
            problems = pool.imap(_file_problem, tasks, chunksize=16)
        else:
            problems = map(_file_problem, tasks)
        problems = tqdm(problems, total=len(tasks), desc='decoding images' if decode else
                        'images', disable=not progress)
        for (name, _, _), problem in zip(files, problems):
            if problem:
                report.add(name, problem, f'check `data_prefix`/--img-dir ({img_dir!r}); '
                           + IMAGE_FIX)


def _check_annotation_list(data: dict, report: _Report, allow_empty: bool) -> list:
    annotations = data.get('annotations') or []
    if not annotations and not allow_empty:
        report.add('annotations', 'the file has no annotations; training on it cannot learn '
                   'anything', 'point `ann_file` at an annotated split (e.g. train), or use '
                   'this file only for testing (test_mode=True)')
    return annotations


def _validate_coco_like(data: dict, fmt: str, report: _Report, img_dir, decode, allow_empty,
                        classes, progress, workers) -> dict:
    video_keys = ('video_id', 'frame_id') if fmt == 'cocovid' else ()
    top_keys = ('images', 'annotations', 'categories') + (('videos', ) if video_keys else ())
    if not _check_top_level(data, top_keys, fmt, report, allow_empty):
        report.raise_if_any()
    categories = _check_categories(data, report, classes)
    # mmdet's video datasets and the metrics name videos by 'name'
    videos = _check_records(data['videos'], 'video', ('id', 'name'), report) \
        if video_keys else {}
    bad_images = set()
    images = _check_records(data['images'], 'image', ('id', 'file_name', 'height', 'width') +
                            video_keys, report, int_keys=('id', ) + video_keys,
                            rejected=bad_images)
    if not images:
        report.add('images', 'the file lists no images', 'list the images of the split')
    frames, sized = set(), set()
    for image in images.values():
        name = f"image id={image['id']}"
        problem = _size_problem(image)
        if problem:
            report.add(name, problem, 'store the image size in pixels')
        else:
            sized.add(image['id'])
        if video_keys and image['video_id'] not in videos:
            report.add(name, f"video_id {image['video_id']} is not in 'videos'",
                       'add the video record or fix the video_id')
        if video_keys and (image['video_id'], image['frame_id']) in frames:
            report.add(name, f"frame_id {image['frame_id']} appears twice in video "
                       f"{image['video_id']}", 'number the frames of a video 0, 1, 2, ...')
        frames.add((image.get('video_id'), image.get('frame_id')))
    ann_keys = ('id', 'image_id', 'category_id', 'bbox', 'area', 'segmentation')
    annotations = _check_records(
        _check_annotation_list(data, report, allow_empty), 'annotation',
        ann_keys + (('video_id', 'instance_id') if video_keys else ()), report,
        int_keys=('id', 'image_id', 'category_id') + (('video_id', ) if video_keys else ()))
    for ann in annotations.values():
        image = images.get(ann['image_id'])
        name = f"annotation id={ann['id']} (image id={ann['image_id']})"
        if image is None:
            if ann['image_id'] not in bad_images:  # else its image is reported already
                report.add(name, f"image_id {ann['image_id']} is not in 'images'",
                           'add the image record or drop the annotation')
            continue
        if image['id'] in sized:
            _check_instance(ann, name, image['width'], image['height'], categories, report)
        if video_keys and not (_is_int(ann['instance_id']) and ann['instance_id'] >= 1):
            report.add(name, f"instance_id {ann['instance_id']!r} is not an integer >= 1 "
                       '(mmdet treats 0 as missing)', 'number instances from 1, as '
                       'tools/dataset_converters/ytvis2cocovid.py does')
        if video_keys and ann['video_id'] != image['video_id']:
            report.add(name, f"video_id {ann['video_id']} differs from its image's video_id "
                       f"{image['video_id']}", 'use the video_id of the image')
    report.raise_if_any()
    files = [(f"image id={i['id']}", i['file_name'], (i['width'], i['height']))
             for i in images.values()]
    _check_images_on_disk(files, img_dir, decode, report, progress, workers)
    report.raise_if_any()
    counts = dict(num_images=len(images), num_annotations=len(annotations))
    summary = dict(format=fmt, num_categories=len(categories), **counts)
    if video_keys:
        summary['num_videos'] = len(videos)
        annotated = {ann['video_id'] for ann in annotations.values()}
        summary['empty_videos'] = [video_label(v) for v in videos.values()
                                   if v['id'] not in annotated]
    return summary


def video_name(video: dict) -> Optional[str]:
    """A YouTube-VIS video's ``name``, else the folder of its frames (``file_names``), else
    None."""
    name = video.get('name')
    if name is None and video.get('file_names'):
        first = str(video['file_names'][0]).replace('\\', '/')
        name = first.rsplit('/', 1)[0] if '/' in first else None
    return name


def video_label(video: dict) -> str:
    """``video id=3 ('name')``, the name being the folder of the frames when not given."""
    name = video_name(video)
    return f"video id={video['id']}" + ('' if name is None else f' ({name!r})')


def _check_track(ann: dict, name: str, video: dict, categories: set, report: _Report) -> None:
    """Per-frame lists of one official YouTube-VIS track."""
    length, width, height = len(video['file_names']), video['width'], video['height']
    if ann['category_id'] not in categories:
        report.add(name, f"category_id {ann['category_id']} is not in 'categories'",
                   'use one of the category ids listed in the file')
    if ann.get('iscrowd', 0) not in (0, 1):
        report.add(name, f"iscrowd {ann['iscrowd']!r} is not 0 or 1", 'use 0 or 1')
    lists = {key: ann.get(key) for key in ('segmentations', 'bboxes', 'areas') if key in ann}
    for key, values in lists.items():
        if not isinstance(values, list) or len(values) != length:
            got = len(values) if isinstance(values, list) else type(values).__name__
            report.add(name, f"'{key}' has {got} entries but the video has {length} frames",
                       'store one entry per frame, null where the object is absent')
            return
    for frame, segmentation in enumerate(lists['segmentations']):
        where = f'{name} frame {frame}'
        bbox = lists['bboxes'][frame] if 'bboxes' in lists else None
        area = lists['areas'][frame] if 'areas' in lists else None
        if segmentation is None:
            if bbox is not None:
                report.add(where, 'has a bbox but no segmentation',
                           'set both to null where the object is absent')
            continue
        _check_segmentation(segmentation, where, width, height, report,
                            'store RLE masks with size [height, width] of the video')
        if bbox is not None:
            problem = _bbox_problem(bbox, width, height)
            if problem:
                report.add(where, problem, 'store boxes as [x, y, width, height] in pixels')
        if area is not None and not (_is_number(area) and area >= 0):
            report.add(where, f'area {area!r} is not a number >= 0', 'store the mask area')


def _validate_ytvis(data: dict, report: _Report, img_dir, decode, allow_empty, classes,
                    progress, workers) -> dict:
    if not _check_top_level(data, ('videos', 'annotations', 'categories'), 'ytvis', report,
                            allow_empty):
        report.raise_if_any()
    categories = _check_categories(data, report, classes)
    videos = _check_records(data['videos'], 'video', ('id', 'width', 'height', 'file_names'),
                            report)
    if not videos:
        report.add('videos', 'the file lists no videos', 'list the videos of the split')
    files = []
    for video in list(videos.values()):
        name = f"video id={video['id']}"
        names = video['file_names']
        problem = _size_problem(video)
        if problem or not (isinstance(names, list) and names and
                           all(isinstance(n, str) and n for n in names)):
            report.add(name, problem or "'file_names' is not a non-empty list of paths",
                       'store width/height in pixels and one relative path per frame')
            del videos[video['id']]
            continue
        if video.get('length', len(names)) != len(names):
            report.add(name, f"length {video['length']} differs from the {len(names)} "
                       'file_names', 'make length the number of frames')
        files += [(f'{name} frame {t}', n, (video['width'], video['height']))
                  for t, n in enumerate(names)]
    annotations = _check_records(
        _check_annotation_list(data, report, allow_empty), 'annotation',
        ('id', 'video_id', 'category_id', 'segmentations'), report,
        int_keys=('id', 'video_id', 'category_id'))
    for ann in annotations.values():
        name = f"annotation id={ann['id']} (video id={ann['video_id']})"
        if ann['video_id'] not in videos:
            if ann['video_id'] not in {v.get('id') for v in data['videos'] if
                                       isinstance(v, dict)}:
                report.add(name, f"video_id {ann['video_id']} is not in 'videos'",
                           'add the video record or drop the annotation')
            continue
        _check_track(ann, name, videos[ann['video_id']], categories, report)
    report.raise_if_any()
    _check_images_on_disk(files, img_dir, decode, report, progress, workers)
    report.raise_if_any()
    annotated = {ann['video_id'] for ann in annotations.values()
                 if any(seg is not None for seg in ann['segmentations'])}
    return dict(format='ytvis', num_categories=len(categories), num_videos=len(videos),
                num_images=len(files), num_annotations=len(annotations),
                empty_videos=[video_label(v) for v in videos.values()
                              if v['id'] not in annotated])


def validate_annotations(data: dict, fmt: str, ann_file: str = '<in memory>',
                         img_dir: Optional[str] = None, decode_images: bool = False,
                         allow_empty: bool = False, classes: Optional[Sequence[str]] = None,
                         progress: bool = False, workers: int = 0) -> dict:
    """Validate already-loaded annotations.

    Args:
        data (dict): Parsed annotation file.
        fmt (str): 'coco', 'cocovid' or 'ytvis'.
        ann_file (str): Name used in error messages.
        img_dir (str, optional): Folder that ``file_name``/``file_names`` are relative to;
            when given, every image must exist.
        decode_images (bool): Also decode every image and compare its size (slow).
        allow_empty (bool): Accept a file without annotations (hidden-GT test splits).
        classes (Sequence[str], optional): Class names the dataset will use; each must be a
            category name of the file.
        progress (bool): Show a progress bar while checking image files.
        workers (int): Processes that decode the images (``decode_images``); 0 or 1: this
            process.

    Returns:
        dict: Summary with ``format``, ``num_categories``, ``num_images``,
        ``num_annotations`` and, for videos, ``num_videos`` and ``empty_videos`` (labels of
        the videos without an annotated object in any frame, which training skips).

    Raises:
        AnnotationFileError: Listing every problem found.
    """
    if fmt not in FORMATS:
        raise ValueError(f'fmt must be one of {FORMATS}, got {fmt!r}.')
    report = _Report(ann_file)
    args = (report, img_dir, decode_images, allow_empty, classes, progress, workers)
    if fmt == 'ytvis':
        return _validate_ytvis(data, *args)
    return _validate_coco_like(data, fmt, *args)


def validate_annotation_file(ann_file: str, fmt: str = 'auto', **kwargs) -> dict:
    """Load and validate an annotation file.

    Args:
        ann_file (str): Path of the JSON file.
        fmt (str): 'coco', 'cocovid', 'ytvis' or 'auto' (see
            :func:`detect_annotation_format`).
        **kwargs: ``img_dir``, ``decode_images``, ``allow_empty``, ``classes``, ``progress``,
            ``workers`` as in :func:`validate_annotations`.

    Returns:
        dict: The summary of :func:`validate_annotations`.

    Raises:
        AnnotationFileError: If the file is unreadable or malformed.
    """
    data = load_annotation_json(ann_file)
    if fmt == 'auto':
        fmt = detect_annotation_format(data)
    return validate_annotations(data, fmt, ann_file, **kwargs)


def validate_coco_instance_file(ann_file: str, img_dir: Optional[str] = None,
                                **kwargs) -> dict:
    """Validate a COCO instance-segmentation file; see :func:`validate_annotations`.

    Args:
        ann_file (str): Path of the JSON file.
        img_dir (str, optional): Image folder; images must exist when given.
        **kwargs: ``decode_images``, ``allow_empty``, ``classes``, ``progress``, ``workers``.

    Returns:
        dict: Summary counts.
    """
    return validate_annotation_file(ann_file, 'coco', img_dir=img_dir, **kwargs)


def validate_cocovid_file(ann_file: str, img_dir: Optional[str] = None, **kwargs) -> dict:
    """Validate a CocoVID file (what mmdet's ``YouTubeVISDataset`` reads).

    Args:
        ann_file (str): Path of the JSON file.
        img_dir (str, optional): Frame folder; frames must exist when given.
        **kwargs: ``decode_images``, ``allow_empty``, ``classes``, ``progress``, ``workers``.

    Returns:
        dict: Summary counts.
    """
    return validate_annotation_file(ann_file, 'cocovid', img_dir=img_dir, **kwargs)


def validate_ytvis_file(ann_file: str, img_dir: Optional[str] = None, **kwargs) -> dict:
    """Validate an official YouTube-VIS (2019 or 2021) file.

    Args:
        ann_file (str): Path of the JSON file.
        img_dir (str, optional): ``JPEGImages`` folder; frames must exist when given.
        **kwargs: ``decode_images``, ``allow_empty``, ``classes``, ``progress``, ``workers``.

    Returns:
        dict: Summary counts.
    """
    return validate_annotation_file(ann_file, 'ytvis', img_dir=img_dir, **kwargs)
