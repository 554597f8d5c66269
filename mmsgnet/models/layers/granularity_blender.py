"""Granularity blender: per-sub-region mask assembly shared by SipMask and SG-Net.

An instance ``i`` with box ``b_i`` is divided into an ``r_y x r_x`` grid of sub-regions
(cells). Every pixel ``p`` inside the box belongs to one cell, whose *canonical* index ``j``
in a fixed ``G x G`` grid (``G = max_division``) selects both the instance's coefficient
(attention) vector ``c_{i,j}`` and, for SG-Net, the channel group ``B_j`` of the base
features that the pixel reads:

* SipMask (``shared_basis=True``, fixed ``k x k`` grid, SipMask paper Eq. 2,
  ``M_i = sigma(B x C_i)`` pruned to quadrant ``i`` and summed over quadrants)::

      M_i(p) = sigmoid(B(p) . c_{i, j(p)}),    B(p) in R^m, all m basis masks

* SG-Net (``shared_basis=False``, dynamic grid, SG-Net paper Eq. 2,
  ``M_i = sum_j sigmoid(a_j x B_j)`` over the ``r_1 x r_2`` sub-regions)::

      M_i(p) = sigmoid(a_{i, j(p)} . B_{j(p)}(p)),  B_j(p) in R^d, channel group j

Both are 0 outside the box. Only the (instance, pixel) pairs inside boxes are computed, so
the cost grows with the total box area, not with ``N x H x W x cells``; everything is plain
PyTorch (gathers and ``index_add_``), so it runs on CPU and CUDA alike.

Geometry: the pixel convention of :mod:`mmsgnet.models.utils.mask_ops` (pixel centres; the
same one the masks are pasted and the GT masks downsampled with): a base pixel is inside a
box when its centre is (``mask_ops.centre_span``), and its cell column is
``v = floor((c_x - x1) / ((x2 - x1) / r_x))`` for its centre ``c_x`` (``mask_ops.pixel_centres``),
clamped to ``[0, r_x - 1]`` (rows alike); its canonical cell is
``(floor((u + 0.5) G / r_y), floor((v + 0.5) G / r_x))``.
"""
import math
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from mmdet.registry import MODELS
from ..utils.mask_ops import centre_span, pixel_centres

# Elements of the (d, pairs) temporaries materialised at once by the blending kernel.
_CHUNK_ELEMENTS = 1 << 18


class BoxPixels(NamedTuple):
    """The (instance, pixel) pairs that lie inside the boxes, in instance order.

    Attributes:
        inst (Tensor): (A,) long, instance index of each pair.
        y (Tensor): (A,) long, row of the pixel on the base map.
        x (Tensor): (A,) long, column of the pixel on the base map.
        cell (Tensor): (A,) long, canonical cell ``j = U * G + V`` in the ``G x G`` grid.
        counts (Tensor): (N,) long, number of pairs of each instance (its in-map box area
            in base pixels); ``counts.sum() == A``.
    """
    inst: Tensor
    y: Tensor
    x: Tensor
    cell: Tensor
    counts: Tensor


def grid_shape(max_division: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """``(G_rows, G_cols)`` of ``max_division``: an int G (a G x G grid) or a (rows, cols)
    pair (SipMask's non-square fixed grids, paper Table 4)."""
    if isinstance(max_division, int) and not isinstance(max_division, bool):
        pair = (max_division, max_division)
    else:
        try:
            pair = tuple(int(v) for v in max_division)
        except TypeError:
            pair = ()
        if len(pair) != 2 or any(isinstance(v, bool) for v in max_division):
            pair = ()
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f'max_division must be an integer >= 1 (cells per box side) or a '
                         f'(rows, cols) pair of them, got {max_division!r}')
    return pair


def division_grid(boxes: Tensor, max_division: Union[int, Sequence[int]],
                  division_size: Optional[float] = None) -> Tuple[Tensor, Tensor]:
    """Number of sub-region rows and columns of each box.

    Fixed grid (``division_size=None``, SipMask's ``k x k``): ``r_y = r_x = max_division``.
    Dynamic grid (SG-Net): ``r_x = min(G, ceil(w / S))``, ``r_y = min(G, ceil(h / S))`` with
    ``S = division_size``, and at least 1 (zero-size boxes).

    Args:
        boxes (Tensor): (N, 4) boxes ``x1, y1, x2, y2`` in input pixels.
        max_division (int): G, the largest number of cells along a side.
        division_size (float, optional): S, the side in input pixels of one cell.

    Returns:
        tuple[Tensor, Tensor]: ``rows`` (N,) and ``cols`` (N,), long.
    """
    num = boxes.shape[0]
    max_rows, max_cols = grid_shape(max_division)
    if division_size is None:
        return (torch.full((num, ), max_rows, dtype=torch.long, device=boxes.device),
                torch.full((num, ), max_cols, dtype=torch.long, device=boxes.device))
    boxes = boxes.double()
    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    cols = torch.ceil(widths / division_size).clamp(1, max_cols).long()
    rows = torch.ceil(heights / division_size).clamp(1, max_rows).long()
    return rows, cols


def _canonical_index(u: Tensor, r: Tensor, max_division: int) -> Tensor:
    """``floor((u + 0.5) * G / r)`` in exact integer arithmetic."""
    return torch.div((2 * u + 1) * max_division, 2 * r, rounding_mode='floor')


def canonical_cell(u: Tensor, v: Tensor, rows: Tensor, cols: Tensor,
                   max_division: Union[int, Sequence[int]]) -> Tensor:
    """Canonical cell index of cell ``(u, v)`` of an ``rows x cols`` grid.

    The cell maps to ``(U, V) = (floor((u + 0.5) G / rows), floor((v + 0.5) G / cols))`` of
    the ``G x G`` grid, i.e. the canonical cell at the same relative position, and its index
    is ``U * G + V`` (row-major). For ``rows = cols = G`` this is ``u * G + v``.

    Args:
        u, v (Tensor): long, cell row and column (broadcastable).
        rows, cols (Tensor): long, grid size of the instance (broadcastable with ``u, v``).
        max_division (int): G.

    Returns:
        Tensor: long canonical index in ``[0, G * G)``.
    """
    max_rows, max_cols = grid_shape(max_division)
    return (_canonical_index(u, rows, max_rows) * max_cols +
            _canonical_index(v, cols, max_cols))


def _ranges(counts: Tensor) -> Tuple[Tensor, Tensor]:
    """Owner and position of every element of consecutive ranges of sizes ``counts``.

    Returns ``owner`` (sum(counts),) = index of the range, and ``local`` = 0..counts-1 within
    its range.
    """
    total = int(counts.sum()) if counts.numel() else 0
    owner = torch.repeat_interleave(
        torch.arange(counts.numel(), device=counts.device), counts, output_size=total)
    starts = torch.cumsum(counts, 0) - counts
    # index_select: several times faster than advanced indexing on CPU for long index vectors
    local = torch.arange(total, device=counts.device) - starts.index_select(0, owner)
    return owner, local


def _axis_cells(lo: Tensor, size: Tensor, start: Tensor, divisions: Tensor, owner: Tensor,
                local: Tensor, max_division: int, stride: float) -> Tensor:
    """Canonical row (or column) index of every in-box pixel along one axis.

    Args:
        lo (Tensor): (N,) float64, box start in input pixels (``x1``).
        size (Tensor): (N,) float64, box side in input pixels (``x2 - x1``).
        start (Tensor): (N,) long, first in-box pixel (clamped to the map).
        divisions (Tensor): (N,) long, number of cells along the axis.
        owner, local (Tensor): (L,) long, box and offset from ``start`` of each in-box pixel
            along the axis (:func:`_ranges` of the in-box lengths).
        max_division (int): G along the axis.
        stride (float): base stride ``s``.

    Returns:
        Tensor: (L,) long, canonical index in ``[0, G)`` of each pixel, box by box.
    """
    centre = pixel_centres((start[owner] + local).double(), stride)
    cell = torch.floor((centre - lo[owner]) / (size[owner] / divisions[owner])).long()
    cell = torch.minimum(cell.clamp(min=0), divisions[owner] - 1)
    return _canonical_index(cell, divisions[owner], max_division)


def _gather_columns(columns: Tensor, index: Tensor) -> Tensor:
    """``columns[:, index]`` of a contiguous (d, R) matrix; 1-D when d = 1 (faster on CPU)."""
    if columns.shape[0] == 1:
        return columns.view(-1).index_select(0, index).unsqueeze(0)
    return columns.index_select(1, index)


def _add_columns(columns: Tensor, index: Tensor, values: Tensor):
    """``columns[:, index] += values`` in place, repeated indices accumulating."""
    if columns.shape[0] == 1:
        columns.view(-1).index_add_(0, index, values.view(-1))
    else:
        columns.index_add_(1, index, values)


class _BlendLogits(torch.autograd.Function):
    """``logit[a] = base_cols[:, base_idx[a]] . coeff_cols[:, coeff_idx[a]]``, memory-lean.

    Works on fixed-size chunks of pairs and recomputes the gathers in backward, so no
    (d, A) tensor is kept for autograd (d = 32 and millions of pairs in SipMask training).
    """

    @staticmethod
    def forward(ctx, base_cols: Tensor, coeff_cols: Tensor, base_idx: Tensor,
                coeff_idx: Tensor) -> Tensor:
        ctx.save_for_backward(base_cols, coeff_cols, base_idx, coeff_idx)
        logits = base_cols.new_empty(base_idx.shape[0])
        step = max(1, _CHUNK_ELEMENTS // base_cols.shape[0])
        for lo in range(0, base_idx.shape[0], step):
            hi = lo + step
            logits[lo:hi] = (_gather_columns(base_cols, base_idx[lo:hi]) *
                             _gather_columns(coeff_cols, coeff_idx[lo:hi])).sum(0)
        return logits

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_logits: Tensor):
        base_cols, coeff_cols, base_idx, coeff_idx = ctx.saved_tensors
        need_base, need_coeff = ctx.needs_input_grad[:2]
        grad_base = torch.zeros_like(base_cols) if need_base else None
        grad_coeff = torch.zeros_like(coeff_cols) if need_coeff else None
        step = max(1, _CHUNK_ELEMENTS // base_cols.shape[0])
        for lo in range(0, base_idx.shape[0], step):
            hi = lo + step
            grad = grad_logits[None, lo:hi]
            if need_base:
                _add_columns(grad_base, base_idx[lo:hi],
                             grad * _gather_columns(coeff_cols, coeff_idx[lo:hi]))
            if need_coeff:
                _add_columns(grad_coeff, coeff_idx[lo:hi],
                             grad * _gather_columns(base_cols, base_idx[lo:hi]))
        return grad_base, grad_coeff, None, None


@MODELS.register_module()
class GranularityBlender(nn.Module):
    """Assemble instance masks from base features and per-sub-region coefficients.

    SipMask (``shared_basis=True``, fixed grid): every sub-region ``j`` of box ``i`` has its
    own spatial coefficients ``c_{i,j} in R^m`` over all m basis masks; SipMask paper Eq. 2,
    ``M_j = sigma(B x C_j)``, pruned to sub-region j and summed over sub-regions.
    SG-Net (``shared_basis=False``, dynamic grid): sub-region ``j`` reads its own group of
    ``d`` base-mask channels with the instance's attention ``a_{i,j} in R^d``; SG-Net paper
    Eq. 2, ``M_i = sum_j sigmoid(a_j x B_j)``. See the module docstring for the geometry.

    Args:
        max_division (int): G. SipMask's k (2); SG-Net's maximum division (6).
        division_size (float, optional): S, the side of one sub-region in input pixels for
            SG-Net's dynamic division ``r = min(G, ceil(side / S))``. ``None`` (default) uses
            the fixed ``G x G`` grid of SipMask.
        shared_basis (bool): True: every cell reads all C channels (coefficient dim d = C).
            False: cell j reads channels ``[j*d, (j+1)*d)`` (C = G*G*d).
        base_stride (int): input pixels per base-feature pixel (2 for SipMask and SG-Net).
    """

    def __init__(self, max_division: int = 2, division_size: Optional[float] = None,
                 shared_basis: bool = True, base_stride: int = 2):
        super().__init__()
        self.grid = grid_shape(max_division)
        valid = isinstance(division_size, (int, float)) and math.isfinite(division_size) \
            and division_size > 0
        if division_size is not None and not valid:
            raise ValueError(f'division_size must be a positive number of input pixels per '
                             f'cell, or None for a fixed grid; got {division_size!r}')
        if not (isinstance(base_stride, (int, float)) and base_stride > 0):
            raise ValueError(f'base_stride must be a positive number of input pixels per base '
                             f'pixel, got {base_stride!r}')
        self.max_division = max_division if isinstance(max_division, int) else self.grid
        self.division_size = None if division_size is None else float(division_size)
        self.shared_basis = bool(shared_basis)
        self.base_stride = base_stride

    @property
    def num_cells(self) -> int:
        """Number of canonical cells, G * G (the second dim of ``coeffs``)."""
        return self.grid[0] * self.grid[1]

    def extra_repr(self) -> str:
        return (f'max_division={self.max_division}, division_size={self.division_size}, '
                f'shared_basis={self.shared_basis}, base_stride={self.base_stride}')

    def box_pixels(self, boxes: Tensor, height: int, width: int) -> BoxPixels:
        """Enumerate the (instance, pixel) pairs inside the boxes and their canonical cells.

        Args:
            boxes (Tensor): (N, 4) ``x1, y1, x2, y2`` in input pixels.
            height, width (int): size of the base map.

        Returns:
            BoxPixels: pairs in instance order, row-major inside each box.
        """
        if boxes.dim() != 2 or boxes.shape[1] != 4:
            raise ValueError(f'boxes must have shape (N, 4) as x1, y1, x2, y2; '
                             f'got {tuple(boxes.shape)}')
        boxes = boxes.detach()
        grid_rows, grid_cols = self.grid
        rows, cols = division_grid(boxes, self.grid, self.division_size)
        stride = self.base_stride
        boxes = boxes.double()
        sizes = boxes[:, 2:] - boxes[:, :2]  # (N, 2) in input pixels
        # the pixels whose centres lie in the box, clamped to the map
        first, last = centre_span(boxes[:, :2], boxes[:, 2:], stride)
        limit = boxes.new_tensor([width, height])
        first = torch.minimum(first.clamp(min=0), limit).long()
        last = torch.minimum(last.clamp(min=0), limit).long()
        extent = (last - first).clamp(min=0)  # (N, 2): in-box columns, rows
        # columns of all boxes, box by box: canonical column of each
        col_inst, col_dx = _ranges(extent[:, 0])
        col_cell = _axis_cells(boxes[:, 0], sizes[:, 0], first[:, 0], cols, col_inst, col_dx,
                               grid_cols, stride)
        col_start = torch.cumsum(extent[:, 0], 0) - extent[:, 0]  # (N,) into col_cell
        # lines = in-box rows of all boxes, box by box: instance, y, canonical row
        line_inst, line_dy = _ranges(extent[:, 1])
        line_cell = _axis_cells(boxes[:, 1], sizes[:, 1], first[:, 1], rows, line_inst,
                                line_dy, grid_rows, stride) * grid_cols
        line_y = first[line_inst, 1] + line_dy
        # pairs = pixels of every line (no integer division per pixel)
        line, dx = _ranges(extent[line_inst, 0])
        inst = line_inst.index_select(0, line)
        column = col_start.index_select(0, inst) + dx  # (A,) into col_cell
        cell = line_cell.index_select(0, line) + col_cell.index_select(0, column)
        return BoxPixels(inst=inst, y=line_y.index_select(0, line),
                         x=first[:, 0].index_select(0, inst) + dx, cell=cell,
                         counts=extent[:, 0] * extent[:, 1])

    def _check_inputs(self, base: Tensor, coeffs: Tensor, num_boxes: Optional[int] = None):
        """Raise a ValueError naming expected and actual shapes if they do not fit the mode."""
        if base.dim() != 3:
            raise ValueError(f'base must have shape (C, H, W) (one image), '
                             f'got {tuple(base.shape)}')
        channels = base.shape[0]
        if self.shared_basis:
            dim, rule = channels, 'shared_basis=True: d == C'
        else:
            dim = channels // self.num_cells
            rule = f'shared_basis=False: C == G*G*d = {self.num_cells}*d'
            if dim * self.num_cells != channels or dim == 0:
                raise ValueError(
                    f'base has C={channels} channels, which is not G*G*d with '
                    f'G={self.max_division} ({rule}); set the base-mask conv to '
                    f'{self.num_cells}*d output channels')
        if coeffs.dim() != 3 or tuple(coeffs.shape[1:]) != (self.num_cells, dim):
            expected = f'(N, {self.num_cells}, {dim})'
            raise ValueError(f'coeffs must have shape (N, G*G, d) = {expected} for base of '
                             f'shape {tuple(base.shape)} ({rule}); got {tuple(coeffs.shape)}; '
                             f'reshape a flat (N, G*G*d) head output with '
                             f'.view(N, {self.num_cells}, {dim})')
        if num_boxes is not None and coeffs.shape[0] != num_boxes:
            raise ValueError(f'coeffs has {coeffs.shape[0]} instances but boxes has '
                             f'{num_boxes}; they must be the same detections')

    def blend_logits(self, base: Tensor, coeffs: Tensor, pixels: BoxPixels) -> Tensor:
        """Mask logits of the in-box pairs (use with BCE-with-logits on exactly those pixels).

        Args:
            base (Tensor): (C, H, W) base features (SipMask basis masks / SG-Net base masks).
            coeffs (Tensor): (N, G*G, d) coefficients / attention per canonical cell.
            pixels (BoxPixels): from :meth:`box_pixels` for the same boxes and ``H, W``.

        Returns:
            Tensor: (A,) logits ``B(p) . c_{i,j(p)}`` (SipMask) or ``a_{i,j(p)} . B_j(p)``
            (SG-Net), aligned with ``pixels``.
        """
        self._check_inputs(base, coeffs)
        channels, height, width = base.shape
        dtype = torch.promote_types(base.dtype, coeffs.dtype)
        dim = coeffs.shape[2]
        groups = channels // dim
        # (d, groups*H*W): column g*H*W + y*W + x holds channel group g at pixel (y, x); a
        # view, no copy, for the shared basis (groups = 1) and for d = 1
        base_cols = base.to(dtype).reshape(groups, dim, height * width).transpose(0, 1)
        base_cols = base_cols.reshape(dim, -1).contiguous()
        base_idx = pixels.y * width + pixels.x
        if not self.shared_basis:
            base_idx = base_idx + pixels.cell * (height * width)
        coeff_cols = coeffs.to(dtype).reshape(-1, dim).t().contiguous()  # (d, N*G*G)
        coeff_idx = pixels.inst * self.num_cells + pixels.cell
        return _BlendLogits.apply(base_cols, coeff_cols, base_idx, coeff_idx)

    def forward(self, base: Tensor, boxes: Tensor, coeffs: Tensor) -> Tensor:
        """Instance mask probabilities, 0 outside each box.

        Args:
            base (Tensor): (C, H, W) base features at stride ``base_stride``.
            boxes (Tensor): (N, 4) ``x1, y1, x2, y2`` in input pixels.
            coeffs (Tensor): (N, G*G, d) per-cell coefficients (SipMask, d = C) or
                attention (SG-Net, C = G*G*d), canonical cells in row-major order.

        Returns:
            Tensor: (N, H, W) probabilities.
        """
        self._check_inputs(base, coeffs, boxes.shape[0] if boxes.dim() == 2 else None)
        _, height, width = base.shape
        pixels = self.box_pixels(boxes.to(base.device), height, width)
        probs = self.blend_logits(base, coeffs, pixels).sigmoid()
        masks = probs.new_zeros(boxes.shape[0] * height * width)
        flat = (pixels.inst * height + pixels.y) * width + pixels.x
        masks.index_put_((flat, ), probs)  # in place: no copy of the (N, H, W) output
        return masks.view(boxes.shape[0], height, width)
