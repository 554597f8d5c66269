from .mask_ops import (crop_masks_to_boxes, paste_box_masks, paste_box_masks_to_image,
                       paste_masks_to_image)

__all__ = [
    'crop_masks_to_boxes', 'paste_box_masks', 'paste_box_masks_to_image', 'paste_masks_to_image'
]
