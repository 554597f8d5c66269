from .mask_ops import (centre_span, crop_masks_to_boxes, masks_to_grid, paste_box_masks,
                       paste_box_masks_to_image, paste_masks_to_image, pixel_centres)

__all__ = [
    'centre_span', 'crop_masks_to_boxes', 'masks_to_grid', 'paste_box_masks',
    'paste_box_masks_to_image', 'paste_masks_to_image', 'pixel_centres'
]
