from .mask_ops import paste_masks_to_image

__all__ = ['paste_masks_to_image']
