"""``YTVISMetric``: YouTube-VIS AP/AR of predicted videos, computed locally by
:func:`mmsgnet.evaluation.ytvis_eval.evaluate_ytvis` (works on any NumPy), and/or the
results file and submission zip for the evaluation server.

It takes the same inputs as mmdet's ``YouTubeVISMetric`` (whole videos, or single frames in
video order, of ``TrackDataSample`` frames with ``pred_track_instances`` and the raw GT
``instances``), but keeps everything a video
needs in its own entry of ``self.results``, so ``evaluate`` can run any number of times in a
process (validation during training), and it uses the GT mask areas, not box areas. Beside
the AP it reports identity: CLEAR-MOT ID switches and IDF1 per video (mask IoU >= 0.5,
:mod:`mmsgnet.evaluation.identity`), their mean over the videos as ``IDSW`` and ``IDF1``.
"""
import os
import os.path as osp
import zipfile
from typing import Dict, List, Optional, Sequence

import numpy as np
import pycocotools.mask as mask_util
from mmengine.logging import MMLogger

from mmdet.evaluation.metrics.base_video_metric import BaseVideoMetric
from mmdet.registry import METRICS
from mmsgnet.datasets.coco_format import dump_json_atomic
from .identity import video_identity_metrics
from .ytvis_eval import STAT_NAMES, evaluate_ytvis, format_summary, to_rle
from .ytvis_results import video_to_ytvis_results

DEFAULT_ITEMS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10')
IDENTITY_ITEMS = ('IDF1', 'IDSW')


def video_ground_truth(frames: Sequence, video_id: int, cat_ids: Sequence[int]) -> List[dict]:
    """GT tracks of one video in the official YouTube-VIS format (without ``id``).

    Args:
        frames (Sequence): The video's ``DetDataSample`` s in frame order, each with
            ``ori_shape`` and the raw ``instances`` (``instance_id``, ``bbox_label``, ``bbox``
            xyxy, ``mask`` as polygons or RLE, ``ignore_flag``) as mmdet's video datasets give.
        video_id (int): The video's id.
        cat_ids (Sequence[int]): Category id of each label.

    Returns:
        list[dict]: One track per ``instance_id``: ``video_id``, ``category_id`` and ``iscrowd``
        (``ignore_flag``) of its first frame, and per frame ``segmentations`` (RLE),
        ``areas`` (mask areas) and ``bboxes`` (xywh), None where the object is absent.
    """
    tracks = {}
    for t, frame in enumerate(frames):
        height, width = frame.ori_shape[:2]
        for instance in frame.get('instances', None) or []:
            if 'mask' not in instance:
                raise ValueError(f'a GT instance of video_id={video_id} has no mask. Fix: load '
                                 'the annotations with masks (LoadTrackAnnotations with_mask=True'
                                 ' and a dataset with segmentations).')
            track = tracks.setdefault(instance['instance_id'], dict(
                video_id=video_id, category_id=int(cat_ids[instance['bbox_label']]),
                iscrowd=int(instance.get('ignore_flag', 0)), segmentations=[None] * len(frames),
                areas=[None] * len(frames), bboxes=[None] * len(frames)))
            rle = to_rle(instance['mask'], height, width)
            x1, y1, x2, y2 = instance['bbox']
            track['segmentations'][t] = rle
            track['areas'][t] = float(mask_util.area(rle)) if rle else None
            track['bboxes'][t] = [x1, y1, x2 - x1, y2 - y1]
    return list(tracks.values())


def write_submission(records: List[dict], outfile_prefix: str) -> str:
    """Write ``{outfile_prefix}.json`` and ``{outfile_prefix}.submission_file.zip`` (the
    records as ``results.json``, what the YouTube-VIS server takes), each atomically.

    Returns:
        str: The zip's path.
    """
    json_path = dump_json_atomic(records, f'{outfile_prefix}.json')
    zip_path = f'{outfile_prefix}.submission_file.zip'
    tmp_path = f'{zip_path}.{os.getpid()}.tmp'
    try:
        with zipfile.ZipFile(tmp_path, 'w', zipfile.ZIP_DEFLATED) as zf:
            zf.write(json_path, 'results.json')
        os.replace(tmp_path, zip_path)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
    return zip_path


@METRICS.register_module()
class YTVISMetric(BaseVideoMetric):
    """YouTube-VIS video instance segmentation AP/AR (official ``YTVOSeval`` definition).

    Takes whole videos per sample (``DefaultSampler``) or one frame per sample in video
    order (``TrackImgSampler``, what the dataset configs use: memory bounded by a frame).

    Args:
        metric_items (Sequence[str]): Numbers to return, from ``STAT_NAMES`` (AP, AP50, AP75,
            APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl). Default the first eight.
        outfile_prefix (str, optional): Also write ``{prefix}.json`` (results) and
            ``{prefix}.submission_file.zip`` (``results.json`` for the server).
        format_only (bool): Only write the files, return no numbers (splits without public
            GT, such as the official valid/test). Needs ``outfile_prefix``. Default False.
        identity_items (Sequence[str]): Identity numbers to return, from ``('IDF1', 'IDSW')``:
            the mean over videos of each video's IDF1 and ID switches; the per-video values
            are logged (and written to ``{outfile_prefix}.identity.json``). Default both.
        identity_iou_thr (float): Mask IoU at which a prediction can be a GT object in a
            frame, for the identity numbers. Default 0.5.
        collect_device (str): 'cpu' or 'gpu', to gather results across ranks. Default 'cpu'.
        prefix (str, optional): Prefix of the metric names; default 'youtube_vis'.
    """
    default_prefix: Optional[str] = 'youtube_vis'

    def __init__(self, metric_items: Sequence[str] = DEFAULT_ITEMS,
                 outfile_prefix: Optional[str] = None, format_only: bool = False,
                 identity_items: Sequence[str] = IDENTITY_ITEMS,
                 identity_iou_thr: float = 0.5,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        unknown = [item for item in metric_items if item not in STAT_NAMES]
        if unknown:
            raise ValueError(f'YTVISMetric: unknown metric_items {unknown}. Fix: choose from '
                             f'{list(STAT_NAMES)}.')
        unknown = [item for item in identity_items if item not in IDENTITY_ITEMS]
        if unknown:
            raise ValueError(f'YTVISMetric: unknown identity_items {unknown}. Fix: choose from '
                             f'{list(IDENTITY_ITEMS)}.')
        if format_only and outfile_prefix is None:
            raise ValueError('YTVISMetric(format_only=True) only writes the results, but no '
                             'outfile_prefix was given. Fix: set outfile_prefix, e.g. '
                             "'./work_dirs/youtube_vis_results'.")
        self.metric_items = list(metric_items)
        self.outfile_prefix = outfile_prefix
        self.format_only = format_only
        self.identity_items = list(identity_items)
        self.identity_iou_thr = identity_iou_thr
        self._partial_videos: Dict[int, dict] = {}  # video_id -> frames so far

    def _cat_ids(self) -> List[int]:
        """Category id of each label: ``dataset_meta['cat_ids']`` if given, else label + 1."""
        if not self.dataset_meta or 'classes' not in self.dataset_meta:
            raise ValueError('YTVISMetric needs dataset_meta with the classes. Fix: the runner '
                             'sets it from the dataset; otherwise set metric.dataset_meta = '
                             'dict(classes=(...)).')
        classes = self.dataset_meta['classes']
        return list(self.dataset_meta.get('cat_ids') or range(1, len(classes) + 1))

    def process_video(self, data_samples: Sequence) -> None:
        """Store one whole video: its info, GT tracks and predicted tracks."""
        first = data_samples[0]
        video_id, cat_ids = int(first.video_id), self._cat_ids()
        self.results.append(dict(
            video=dict(id=video_id, height=int(first.ori_shape[0]),
                       width=int(first.ori_shape[1]), length=len(data_samples)),
            annotations=video_ground_truth(data_samples, video_id, cat_ids),
            predictions=video_to_ytvis_results(data_samples, video_id, cat_ids)))

    def process_image(self, data_samples: Sequence, ori_video_len: int) -> None:
        """Store frames of a video given a few at a time (``TrackImgSampler``: one frame per
        sample, in order), keeping each frame's predictions as RLE and its GT instances; the
        video is stored as :meth:`process_video` does when its last frame arrives. Memory
        holds no frame's image or bool masks, whatever the video's length."""
        from mmengine.structures import BaseDataElement

        from .ytvis_results import encode_frame
        video_id, cat_ids = int(data_samples[0].video_id), self._cat_ids()
        state = self._partial_videos.setdefault(video_id, dict(gt=[], pred=[]))
        for frame in data_samples:
            state['gt'].append(BaseDataElement(
                metainfo=dict(ori_shape=tuple(frame.ori_shape)),
                instances=frame.get('instances', None) or []))
            state['pred'].append(encode_frame(frame))
        if len(state['pred']) < ori_video_len:
            return
        del self._partial_videos[video_id]
        first = state['gt'][0]
        self.results.append(dict(
            video=dict(id=video_id, height=int(first.ori_shape[0]),
                       width=int(first.ori_shape[1]), length=len(state['pred'])),
            annotations=video_ground_truth(state['gt'], video_id, cat_ids),
            predictions=video_to_ytvis_results(state['pred'], video_id, cat_ids)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Numbers of ``metric_items`` over all videos (each counted once); writes the results
        files first when ``outfile_prefix`` is set."""
        videos = list({video['video']['id']: video for video in reversed(results)}.values())
        videos.sort(key=lambda video: video['video']['id'])
        predictions = [record for video in videos for record in video['predictions']]
        logger = MMLogger.get_current_instance()
        if self.outfile_prefix is not None:
            zip_path = write_submission(predictions, self.outfile_prefix)
            logger.info(f'YouTube-VIS results of {len(videos)} videos written to {zip_path}.')
        if self.format_only:
            return {}
        annotations = [dict(track, id=i + 1) for i, track in
                       enumerate(track for video in videos for track in video['annotations'])]
        classes = self.dataset_meta['classes']
        gt = dict(videos=[video['video'] for video in videos], annotations=annotations,
                  categories=[dict(id=cat_id, name=name)
                              for cat_id, name in zip(self._cat_ids(), classes)])
        stats = evaluate_ytvis(gt, predictions)
        logger.info(f'YouTube-VIS segm evaluation of {len(videos)} videos:\n'
                    + format_summary(stats))
        metrics = {item: stats[item] for item in self.metric_items}
        if self.identity_items:
            metrics.update(self.identity_metrics(videos))
        return metrics

    def identity_metrics(self, videos: List[dict]) -> Dict[str, float]:
        """Mean over videos of the ``identity_items``; logs (and writes) the per-video ones."""
        per_video = {}
        for video in videos:
            per_video[video['video']['id']] = video_identity_metrics(
                [t['segmentations'] for t in video['annotations']],
                [p['segmentations'] for p in video['predictions']], self.identity_iou_thr)
        lines = [f'video {k}: IDSW {v["IDSW"]} IDF1 {v["IDF1"]:.3f}'
                 for k, v in per_video.items()]
        MMLogger.get_current_instance().info('identity per video (mask IoU >= '
                                             f'{self.identity_iou_thr}):\n' + '\n'.join(lines))
        if self.outfile_prefix is not None:
            dump_json_atomic({str(k): v for k, v in per_video.items()},
                             f'{self.outfile_prefix}.identity.json')
        return {item: float(np.mean([v[item] for v in per_video.values()]))
                for item in self.identity_items}
