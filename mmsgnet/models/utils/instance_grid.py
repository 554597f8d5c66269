"""FASSST's S x S instance grid (paper Sec. 3.2, as YOLO [26]): cell geometry, the centre-cell
assignment of ground truths, and the (t, l, b, r) box sides of a cell. Pure functions.

Geometry (as ``mask_ops``): the grid covers the (padded) network input of ``H x W`` pixels;
cell ``(i, j)`` (row, column) covers ``[j W/S, (j+1) W/S) x [i H/S, (i+1) H/S)`` and its centre
is ``((j + 0.5) W/S, (i + 0.5) H/S)``. Cells are flattened row-major: ``k = i * S + j``.
Box sides are the distances from the cell centre to the box's top, left, bottom and right
edges, normalised by the input size (``H`` for t / b, ``W`` for l / r), in the paper's channel
order ``(t, l, b, r)``. They are signed: a box smaller than a cell may not contain the centre
of the cell that contains its own centre, so one side can be negative, down to ``-0.5 / S``
(``-1.5 / S`` for a cell of the 3 x 3 neighbourhood).
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor


def grid_cell_centres(grid_size: int, input_shape: Sequence[int], device=None,
                      dtype=torch.float32) -> Tensor:
    """(S*S, 2) centres (x, y), in input pixels, of the cells of an S x S grid over
    ``input_shape`` (H, W), row-major."""
    height, width = float(input_shape[0]), float(input_shape[1])
    steps = torch.arange(grid_size, device=device, dtype=dtype) + 0.5
    ys, xs = torch.meshgrid(steps * (height / grid_size), steps * (width / grid_size),
                            indexing='ij')
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def assign_grid_cells(gt_bboxes: Tensor, grid_size: int, input_shape: Sequence[int],
                      neighbourhood: bool = False) -> Tensor:
    """Which ground truth each cell of the S x S grid predicts (paper Sec. 3.2, YOLO-style).

    A GT is assigned to the cell containing its box centre (half-open cells, so a centre on
    a border between two cells belongs to the right / lower one; centres on or beyond the
    image edge are clamped to the border cells). If several GTs claim a cell, the larger box
    (area) wins; among equal areas, the later GT. With ``neighbourhood`` every GT also claims
    the 8 cells around its centre cell as extra positives; a GT whose centre lies in a cell
    always beats a neighbour's claim on it.

    Args:
        gt_bboxes (Tensor): (G, 4) boxes (x1, y1, x2, y2) in input pixels.
        grid_size (int): S.
        input_shape (tuple): (H, W) the grid covers.
        neighbourhood (bool): Also claim the 3 x 3 neighbourhood. Default False.

    Returns:
        Tensor: (S*S,) long, the GT index of each cell, -1 for background.
    """
    num_cells = grid_size * grid_size
    device = gt_bboxes.device
    cell_gt = torch.full((num_cells, ), -1, dtype=torch.long, device=device)
    num_gts = gt_bboxes.shape[0]
    if num_gts == 0:
        return cell_gt
    boxes = gt_bboxes.float()
    height, width = float(input_shape[0]), float(input_shape[1])
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    col = torch.floor(cx / (width / grid_size)).long().clamp(0, grid_size - 1)
    row = torch.floor(cy / (height / grid_size)).long().clamp(0, grid_size - 1)
    area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    # rank by area (ties: later index ranks higher); key = is_centre * G + rank, unique per
    # (GT, priority), so the per-cell maximum key names exactly one GT
    order = torch.sort(area, stable=True)[1]
    rank = torch.empty_like(order)
    rank[order] = torch.arange(num_gts, device=device)
    offsets = [(0, 0)]
    if neighbourhood:
        offsets += [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
    cells, keys = [], []
    for dr, dc in offsets:
        r, c = row + dr, col + dc
        valid = (r >= 0) & (r < grid_size) & (c >= 0) & (c < grid_size)
        cells.append((r * grid_size + c)[valid])
        keys.append(rank[valid] + (num_gts if (dr, dc) == (0, 0) else 0))
    cells, keys = torch.cat(cells), torch.cat(keys)
    best = torch.full((num_cells, ), -1, dtype=torch.long, device=device)
    best.scatter_reduce_(0, cells, keys, reduce='amax', include_self=True)
    claimed = best >= 0
    cell_gt[claimed] = order[best[claimed] % num_gts]
    return cell_gt


def encode_cell_sides(bboxes: Tensor, centres: Tensor, input_shape: Sequence[int]) -> Tensor:
    """(N, 4) boxes (x1, y1, x2, y2) and (N, 2) cell centres -> (N, 4) normalised signed
    sides (t, l, b, r) = ((cy - y1) / H, (cx - x1) / W, (y2 - cy) / H, (x2 - cx) / W)."""
    height, width = float(input_shape[0]), float(input_shape[1])
    cx, cy = centres[:, 0], centres[:, 1]
    return torch.stack([(cy - bboxes[:, 1]) / height, (cx - bboxes[:, 0]) / width,
                        (bboxes[:, 3] - cy) / height, (bboxes[:, 2] - cx) / width], dim=1)


def decode_cell_sides(sides: Tensor, centres: Tensor, input_shape: Sequence[int]) -> Tensor:
    """Inverse of :func:`encode_cell_sides`: (N, 4) (t, l, b, r) -> (N, 4) boxes, ordered so
    that x1 <= x2 and y1 <= y2 (an untrained cell may predict crossed sides)."""
    height, width = float(input_shape[0]), float(input_shape[1])
    cx, cy = centres[:, 0], centres[:, 1]
    xa, xb = cx - sides[:, 1] * width, cx + sides[:, 3] * width
    ya, yb = cy - sides[:, 0] * height, cy + sides[:, 2] * height
    return torch.stack([torch.minimum(xa, xb), torch.minimum(ya, yb),
                        torch.maximum(xa, xb), torch.maximum(ya, yb)], dim=1)


def side_range(grid_size: int, neighbourhood: bool = False) -> Tuple[float, float]:
    """(lowest, highest) normalised side a positive cell can have: ``-(0.5 or 1.5) / S`` (the
    box's edge lies behind the cell centre by up to half a cell, or one and a half for a
    neighbour cell) and 1 (a whole input side)."""
    return -(1.5 if neighbourhood else 0.5) / grid_size, 1.0
