from .sipmask_track_head import SipMaskTrackHead, jitter_boxes, sample_at_box_centers

__all__ = ['SipMaskTrackHead', 'jitter_boxes', 'sample_at_box_centers']
