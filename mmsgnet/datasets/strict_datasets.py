"""mmdet datasets that validate their annotation file before loading it.

mmdet's ``CocoDataset``/``YouTubeVISDataset`` fail late and cryptically on malformed files (a
KeyError deep in parsing, a mask whose size does not match the image in the middle of an
epoch, an empty dataset after filtering) or not at all (unknown categories and degenerate
boxes are dropped silently). These subclasses run :mod:`mmsgnet.datasets.validation` first,
which raises an :class:`~mmsgnet.datasets.validation.AnnotationFileError` naming the file, the
records, the problems and the fixes. Everything else is inherited unchanged.

The file is parsed twice (once to validate, once by mmdet); for COCO train2017 this adds
seconds to start-up. Image files are checked when they are on the local disk
(``backend_args=None``): for existence by default, fully decoded with
``check_images='decode'`` (the default of the generated-data configs; once, when the dataset
is built, i.e. before the first iteration), not at all with ``check_images=None``. In test
mode an annotation file without annotations is accepted (hidden-GT splits such as YouTube-VIS
valid). A training video without any annotated object is skipped with a warning.
"""
import warnings
from typing import List, Optional

from mmengine.fileio import get_local_path

from mmdet.datasets import CocoDataset, YouTubeVISDataset
from mmdet.registry import DATASETS
from .validation import AnnotationFileError, load_annotation_json, validate_annotations, video_label

CHECK_IMAGES = (None, 'exists', 'decode')


def _validate_dataset_file(dataset, fmt: str, prefix_key: str) -> None:
    """Validate ``dataset.ann_file`` against the dataset's settings."""
    if dataset.check_images not in CHECK_IMAGES:
        raise ValueError(f'check_images must be one of {CHECK_IMAGES}, '
                         f'got {dataset.check_images!r}.')
    on_local_disk = dataset.backend_args is None
    img_dir = dataset.data_prefix.get(prefix_key, '') if (
        on_local_disk and dataset.check_images is not None) else None
    with get_local_path(dataset.ann_file, backend_args=dataset.backend_args) as local_path:
        data = load_annotation_json(local_path)
    validate_annotations(data, fmt, dataset.ann_file, img_dir=img_dir,
                         decode_images=dataset.check_images == 'decode',
                         allow_empty=dataset.test_mode, classes=dataset.metainfo['classes'],
                         workers=dataset.check_workers)


@DATASETS.register_module()
class StrictCocoDataset(CocoDataset):
    """``CocoDataset`` that validates its COCO annotation file before loading it.

    Args:
        check_images (str | None): 'exists' (default) checks that every image file exists,
            'decode' also decodes each one fully when the dataset is built (once, before
            training; a JPEG that libjpeg reports as corrupt is an error; see
            :mod:`mmsgnet.datasets.image_files`), ``None`` skips image checks.
        check_workers (int): Processes for the 'decode' check; 0 (default): this process.
        *args, **kwargs: As for :class:`mmdet.datasets.CocoDataset`.
    """

    def __init__(self, *args, check_images: Optional[str] = 'exists', check_workers: int = 0,
                 **kwargs):
        self.check_images, self.check_workers = check_images, check_workers
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Validate the annotation file, then load it as ``CocoDataset`` does.

        Returns:
            list[dict]: Per-image data infos.

        Raises:
            AnnotationFileError: If the annotation file or its images are unusable.
        """
        _validate_dataset_file(self, 'coco', 'img')
        return super().load_data_list()


@DATASETS.register_module()
class StrictYouTubeVISDataset(YouTubeVISDataset):
    """``YouTubeVISDataset`` that validates its CocoVID annotation file before loading it.

    An official-format YouTube-VIS file is rejected with a hint to convert it with
    ``tools/dataset_converters/ytvis2cocovid.py``.

    Args:
        dataset_version (str): '2019' or '2021' (selects the 40 class names).
        check_images (str | None): 'exists' (default), 'decode' or ``None``; see
            :class:`StrictCocoDataset`.
        check_workers (int): Processes for the 'decode' check; 0 (default): this process.
        *args, **kwargs: As for :class:`mmdet.datasets.YouTubeVISDataset`.
    """

    def __init__(self, dataset_version: str, *args, check_images: Optional[str] = 'exists',
                 check_workers: int = 0, **kwargs):
        self.check_images, self.check_workers = check_images, check_workers
        super().__init__(dataset_version, *args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Validate the annotation file, then load it as ``YouTubeVISDataset`` does.

        Returns:
            list[dict]: Per-video data infos.

        Raises:
            AnnotationFileError: If the annotation file or its frames are unusable.
        """
        _validate_dataset_file(self, 'cocovid', 'img_path')
        return super().load_data_list()

    def filter_data(self) -> List[dict]:
        """mmdet's filtering, then (for training) drop the videos without an annotated object
        of the dataset's classes in any frame, with a warning naming them: mmdet's frame
        samplers draw the reference frames among the annotated ones and would fail on such a
        video ("Sample larger than population").

        Returns:
            list[dict]: Per-video data infos.

        Raises:
            AnnotationFileError: If no training video is left.
        """
        return skip_videos_without_objects(self, super().filter_data())


def skip_videos_without_objects(dataset, data_list: List[dict]) -> List[dict]:
    """For training (``dataset.test_mode`` False), drop the videos of ``data_list`` without an
    annotated object of the dataset's classes in any frame, with a warning naming them.

    Raises:
        AnnotationFileError: If no training video is left.
    """
    if dataset.test_mode:
        return data_list
    kept = [v for v in data_list if any(image['instances'] for image in v['images'])]
    if len(kept) < len(data_list):
        empty = [video_label(dict(id=v['video_id'], file_names=[
            v['images'][0]['file_name'] if v['images'] else None])) for v in data_list
            if not any(image['instances'] for image in v['images'])]
        if not kept:
            raise AnnotationFileError(dataset.ann_file, [
                f'videos: no training video has an annotated object of the classes '
                f"{tuple(dataset.metainfo['classes'])}. Fix: check `metainfo.classes` / "
                '`dataset_version` in the config against the categories of the file'])
        shown = ', '.join(empty[:20]) + (f' and {len(empty) - 20} more'
                                         if len(empty) > 20 else '')
        warnings.warn(f"'{dataset.ann_file}': {len(empty)} training video(s) without any "
                      f'annotated object of the classes are skipped: {shown}')
    return kept
