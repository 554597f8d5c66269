from .ytvis_eval import STAT_NAMES, evaluate_ytvis, format_summary, spatio_temporal_iou
from .ytvis_metric import YTVISMetric
from .ytvis_results import encode_rle, video_to_ytvis_results

__all__ = [
    'encode_rle', 'video_to_ytvis_results', 'STAT_NAMES', 'evaluate_ytvis', 'format_summary',
    'spatio_temporal_iou', 'YTVISMetric'
]
