from .instance_grid import (assign_grid_cells, decode_cell_sides, encode_cell_sides,
                            grid_cell_centres, side_range)
from .mask_ops import (crop_masks_to_boxes, paste_box_masks, paste_box_masks_to_image,
                       paste_masks_to_image)

__all__ = [
    'assign_grid_cells', 'decode_cell_sides', 'encode_cell_sides', 'grid_cell_centres',
    'side_range', 'crop_masks_to_boxes', 'paste_box_masks', 'paste_box_masks_to_image',
    'paste_masks_to_image'
]
