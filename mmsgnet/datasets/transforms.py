"""Image loading that names the file when it cannot be read; test pipelines for inference."""
import copy
from typing import List, Optional, Sequence

import mmcv
import mmengine.fileio as fileio
from mmcv.transforms import LoadImageFromFile

from mmdet.registry import TRANSFORMS
from .image_files import IMAGE_FIX, ImageFileError, image_bytes_problem


@TRANSFORMS.register_module()
class StrictLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that rejects missing, empty, truncated and undecodable files.

    mmcv's loader decodes a truncated JPEG without complaint (the missing part comes out
    grey) and reports other failures with a bare assertion. This one raises an
    :class:`~mmsgnet.datasets.image_files.ImageFileError` naming the file, the problem and the
    fix (the check costs a look at the file's last bytes; see
    :mod:`mmsgnet.datasets.image_files`). Used in every pipeline (train, val, test) of the
    configs of this repository, also inside ``TransformBroadcaster`` for video frames;
    mmdet's ``DetInferencer``, which looks for ``LoadImageFromFile`` by name, is taught to
    accept it (:func:`_let_det_inferencer_find_strict_loader`).

    Args:
        **kwargs: As for :class:`mmcv.transforms.LoadImageFromFile`. With
            ``ignore_empty=True`` an unreadable file gives ``None`` (the sample is skipped)
            instead of an error.
    """

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` into ``results['img']``.

        Args:
            results (dict): Must contain ``img_path``.

        Returns:
            dict | None: ``results`` with ``img``, ``img_shape`` and ``ori_shape``.

        Raises:
            ImageFileError: If the file is missing or cannot be decoded.
        """
        filename = results['img_path']
        image = problem = None
        try:
            if self.file_client_args is not None:
                client = fileio.FileClient.infer_client(self.file_client_args, filename)
                data = client.get(filename)
            else:
                data = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError:
            problem = 'the file does not exist'
        except OSError as error:
            problem = f'the file cannot be read ({error})'
        else:
            problem = image_bytes_problem(data)
            if problem is None:
                image = mmcv.imfrombytes(data, flag=self.color_type,
                                         backend=self.imdecode_backend)
                problem = 'the file cannot be decoded' if image is None else None
        if problem is not None:
            if self.ignore_empty:
                return None
            raise ImageFileError(f"Cannot load image '{filename}': {problem}. Fix: {IMAGE_FIX}.")
        if self.to_float32:
            image = image.astype('float32')
        results['img'] = image
        results['img_shape'] = image.shape[:2]
        results['ori_shape'] = image.shape[:2]
        return results


def _let_det_inferencer_find_strict_loader() -> None:
    """mmdet's ``DetInferencer`` (and ``demo/image_demo.py``) looks for ``LoadImageFromFile``
    in the test pipeline by name, to replace it with its own loader; let it take
    ``StrictLoadImageFromFile`` for it. Idempotent; called when this module is imported."""
    from mmdet.apis import DetInferencer
    original = DetInferencer._get_transform_idx
    if getattr(original, 'accepts_strict_loader', False):
        return

    def _get_transform_idx(self, pipeline_cfg, name) -> int:
        index = original(self, pipeline_cfg, name)
        if index == -1 and 'LoadImageFromFile' in (name if isinstance(name, tuple) else
                                                   (name, )):
            index = original(self, pipeline_cfg,
                             ('StrictLoadImageFromFile', StrictLoadImageFromFile))
        return index

    _get_transform_idx.accepts_strict_loader = True
    DetInferencer._get_transform_idx = _get_transform_idx


_let_det_inferencer_find_strict_loader()

IMAGE_LOADERS = ('LoadImageFromFile', 'StrictLoadImageFromFile', 'LoadImageFromNDArray')
ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadTrackAnnotations')


def inference_pipeline(pipeline: Sequence[dict], from_ndarray: bool = False) -> List[dict]:
    """A config's test pipeline for inputs without annotations: the annotation loaders are
    dropped (also inside ``TransformBroadcaster``); with ``from_ndarray`` the image loader
    becomes ``LoadImageFromNDArray`` (keeping ``to_float32``), for decoded frames.

    Args:
        pipeline (Sequence[dict]): Transform configs (not modified).
        from_ndarray (bool): Inputs are arrays in ``img`` instead of paths. Default False.
    """
    def strip(transforms):
        kept = [t for t in transforms if t['type'] not in ANNOTATION_LOADERS]
        if from_ndarray:
            loaders = [t for t in kept if t['type'] in IMAGE_LOADERS]
            to_float32 = bool(loaders and loaders[0].get('to_float32', False))
            kept = [dict(type='LoadImageFromNDArray', to_float32=to_float32)] + [
                t for t in kept if t['type'] not in IMAGE_LOADERS]
        return kept

    pipeline = copy.deepcopy(list(pipeline))
    for transform in pipeline:
        if transform['type'] == 'TransformBroadcaster':
            transform['transforms'] = strip(transform['transforms'])
    return [t for t in pipeline if t['type'] not in ANNOTATION_LOADERS]
