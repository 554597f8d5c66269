from .ytvis_results import encode_rle, video_to_ytvis_results

__all__ = ['encode_rle', 'video_to_ytvis_results']
