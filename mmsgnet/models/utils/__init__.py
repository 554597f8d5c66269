from .instance_grid import (assign_grid_cells, decode_cell_sides, encode_cell_sides,
                            grid_cell_centres, side_range)
from .mask_ops import (centre_span, crop_masks_to_boxes, masks_to_grid, paste_box_masks,
                       paste_box_masks_to_image, paste_masks_to_image, pixel_centres)

__all__ = [
    'assign_grid_cells', 'decode_cell_sides', 'encode_cell_sides', 'grid_cell_centres',
    'side_range', 'centre_span', 'crop_masks_to_boxes', 'masks_to_grid', 'paste_box_masks',
    'paste_box_masks_to_image', 'paste_masks_to_image', 'pixel_centres'
]
