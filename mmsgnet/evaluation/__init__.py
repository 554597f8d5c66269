from .identity import IdentityFrame, id_switches, idf1, video_identity_metrics
from .video_identity import (GroundTruthError, GTVideo, ObjectMatch, identity_summary,
                             load_gt_video, match_objects, track_statistics, video_identity_row)
from .ytvis_eval import STAT_NAMES, evaluate_ytvis, format_summary, spatio_temporal_iou
from .ytvis_metric import YTVISMetric
from .ytvis_results import EncodedFrame, encode_frame, video_to_ytvis_results

__all__ = [
    'IdentityFrame', 'id_switches', 'idf1', 'video_identity_metrics',
    'EncodedFrame', 'encode_frame', 'video_to_ytvis_results', 'STAT_NAMES', 'evaluate_ytvis',
    'format_summary', 'spatio_temporal_iou', 'YTVISMetric', 'GroundTruthError', 'GTVideo',
    'ObjectMatch', 'identity_summary', 'load_gt_video', 'match_objects', 'track_statistics',
    'video_identity_row'
]
