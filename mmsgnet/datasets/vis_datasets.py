"""Any video instance segmentation dataset in the YouTube-VIS format (converted to CocoVID by
``tools/dataset_converters/ytvis2cocovid.py``): YouTube-VIS 2019 / 2021 / 2022, OVIS, or a
user's own videos with their own categories.

mmdet's ``YouTubeVISDataset`` knows only the 2019 and 2021 class lists and refuses any other
``dataset_version``. :class:`VISDataset` takes its classes, in this order of precedence,
from ``metainfo=dict(classes=...)``, from a known ``dataset_version`` (``'2019'``,
``'2021'``, ``'2022'`` = the 2021 classes, ``'ovis'``), or from the annotation file's
``categories`` (names in category-id order). Like ``StrictYouTubeVISDataset`` it validates
the file first (named errors), and in test mode it accepts ``"annotations": null`` (the OVIS
and YouTube-VIS valid/test files, whose ground truth is hidden).
"""
import json
import os
import tempfile
from typing import List, Optional, Tuple

from mmengine.fileio import get_local_path

from mmdet.datasets import BaseVideoDataset
from mmdet.registry import DATASETS
from .strict_datasets import _validate_dataset_file, skip_videos_without_objects
from .validation import AnnotationFileError, load_annotation_json

#: The 25 OVIS categories (ids 1..25), spelled as in the official files ('Vehical').
OVIS_CLASSES = ('Person', 'Bird', 'Cat', 'Dog', 'Horse', 'Sheep', 'Cow', 'Elephant', 'Bear',
                'Zebra', 'Giraffe', 'Poultry', 'Giant_panda', 'Lizard', 'Parrot', 'Monkey',
                'Rabbit', 'Tiger', 'Fish', 'Turtle', 'Bicycle', 'Motorcycle', 'Airplane',
                'Boat', 'Vehical')
VIS_VERSIONS = ('2019', '2021', '2022', 'ovis')


def vis_class_names(dataset_version: str) -> Tuple[str, ...]:
    """Class names of a known VIS dataset, in category-id order (id = index + 1).

    Args:
        dataset_version (str): '2019', '2021', '2022' (YouTube-VIS 2022 uses the 2021
            classes) or 'ovis'.
    """
    from .synthetic import ytvis_class_names
    version = str(dataset_version).lower()
    if version == 'ovis':
        return OVIS_CLASSES
    if version in ('2019', '2021', '2022'):
        return ytvis_class_names('2021' if version == '2022' else version)
    raise ValueError(f'unknown dataset_version {dataset_version!r}; use one of {VIS_VERSIONS}, '
                     'or leave it out and give metainfo=dict(classes=...) (or let the '
                     "annotation file's categories name the classes)")


def file_class_names(data: dict) -> Tuple[str, ...]:
    """Category names of a loaded annotation file, in category-id order."""
    categories = sorted(data.get('categories') or [], key=lambda c: c['id'])
    return tuple(c['name'] for c in categories)


@DATASETS.register_module()
class VISDataset(BaseVideoDataset):
    """A YouTube-VIS-format (CocoVID) video dataset with any class list, validated first.

    Args:
        dataset_version (str, optional): A known class list ('2019', '2021', '2022',
            'ovis'); ignored when ``metainfo`` gives the classes. None: the classes come from
            ``metainfo`` or, failing that, from the annotation file's categories.
        check_images (str | None): 'exists' (default), 'decode' or ``None``; see
            :class:`~mmsgnet.datasets.StrictCocoDataset`.
        check_workers (int): Processes for the 'decode' check; 0 (default): this process.
        *args, **kwargs: As for mmdet's ``BaseVideoDataset`` (``ann_file``, ``data_root``,
            ``data_prefix=dict(img_path=...)``, ``metainfo``, ``test_mode``, ``pipeline``).

    ``metainfo`` gets ``classes`` and ``cat_ids`` (the category id of each label, which
    ``YTVISMetric`` writes into results).
    """

    def __init__(self, *args, dataset_version: Optional[str] = None,
                 check_images: Optional[str] = 'exists', check_workers: int = 0, **kwargs):
        self.dataset_version = dataset_version
        self.check_images, self.check_workers = check_images, check_workers
        if dataset_version is not None:
            vis_class_names(dataset_version)  # refuse an unknown version before any work
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Settle the classes, validate the file, then load it as ``BaseVideoDataset`` does
        (through a copy with ``"annotations": []`` when the file has ``null``).

        Raises:
            AnnotationFileError: If the file or its frames are unusable, or the classes are
                not among its categories.
        """
        with get_local_path(self.ann_file, backend_args=self.backend_args) as local_path:
            data = load_annotation_json(local_path)
        if not self._metainfo.get('classes'):
            names = vis_class_names(self.dataset_version) if self.dataset_version \
                else file_class_names(data)
            if not names:
                raise AnnotationFileError(self.ann_file, [
                    'the file has no categories and no classes were given; add the '
                    "categories to the file or set metainfo=dict(classes=('a', 'b', ...))"])
            self._metainfo['classes'] = tuple(names)
        _validate_dataset_file(self, 'cocovid', 'img_path')
        if data.get('annotations', ()) is None:
            data_list = self._load_without_annotations(data)
        else:
            data_list = super().load_data_list()
        self._check_class_order(data)
        self._metainfo['cat_ids'] = list(self.cat_ids)
        return data_list

    def filter_data(self) -> List[dict]:
        """mmdet's filtering, then (training) skip the videos without an annotated object,
        as :class:`StrictYouTubeVISDataset` does."""
        return skip_videos_without_objects(self, super().filter_data())

    def _load_without_annotations(self, data: dict) -> List[dict]:
        """``BaseVideoDataset.load_data_list`` on a temporary copy with an empty list."""
        handle, path = tempfile.mkstemp(suffix='.json')
        ann_file = self.ann_file
        try:
            with os.fdopen(handle, 'w') as f:
                json.dump(dict(data, annotations=[]), f)
            self.ann_file = path
            return super().load_data_list()
        finally:
            self.ann_file = ann_file
            os.remove(path)

    def _check_class_order(self, data: dict) -> None:
        """mmdet numbers labels in category-id order; classes given in another order would
        name every label wrongly, so they are refused."""
        by_id = {c['id']: c['name'] for c in data.get('categories') or []}
        in_id_order = [by_id[cat_id] for cat_id in self.cat_ids]
        if list(self._metainfo['classes']) != in_id_order:
            raise AnnotationFileError(self.ann_file, [
                f"the classes {list(self._metainfo['classes'])} are not in the file's "
                f'category-id order {in_id_order}; list them in that order in '
                'metainfo=dict(classes=...)'])
