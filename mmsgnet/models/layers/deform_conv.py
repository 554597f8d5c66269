"""The project's deformable convolution (Dai et al., "Deformable Convolutional Networks", Eq. 2).

    y(p0) = sum_k w_k * x(p0 + p_k + dp_k)

where ``p_k`` runs over the kernel grid (with stride, padding, dilation) and ``x(.)`` is
bilinear interpolation with zero padding outside the map. Two implementations compute it:

* ``'mmcv'``: mmcv's ``deform_conv2d`` op (its CUDA kernel on GPU, its CPU kernel on CPU);
* ``'torch'``: pure PyTorch -- a sampled im2col: each kernel point's bilinear sample is a
  weighted sum of four rows of the channels-last, zero-padded input (one ``embedding_bag``
  over all points and offset groups), then one matmul with the weight. Autograd gives the
  backward through the same native kernels; output rows are processed in chunks of at most
  ``chunk_elems`` sampled-column elements (recomputed in the backward when there are several),
  so memory stays bounded for large maps.

``impl='auto'`` (the default) runs mmcv's op on CUDA tensors and the PyTorch path on CPU, where
it is several times faster than mmcv's CPU kernel (README "Deformable convolution"). The
environment variable ``MMSGNET_DEFORM_IMPL`` ('mmcv' or 'torch') overrides what 'auto' resolves
to in every layer of the process and its children (to time a whole run, e.g. the test suite,
with either implementation without editing configs).

The bilinear convention is mmcv's exactly: a point with ``-1 < y < H`` and ``-1 < x < W`` is
interpolated from its four neighbours, neighbours outside the map counting as zero; a point
farther out samples zero. The sample position is computed in mmcv's order (integer grid
position + offset) and the corners by ``floor``, so points on integer positions (zero offsets,
the alignment's initial state) get mmcv's one-sided offset gradient too; ``grid_sample``'s
normalised coordinates would not round-trip exactly and give the other side's at random.

The layers subclass mmcv's :class:`~mmcv.ops.DeformConv2d` / :class:`~mmcv.ops.DeformConv2dPack`
and add no parameters (except ``bias`` when asked for), so their state dicts are mmcv's: a
checkpoint saved with one implementation loads into the other, and converters are unchanged.
"""
import os
from typing import Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.ops import DeformConv2d, DeformConv2dPack
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import Tensor
from torch.nn.modules.utils import _pair
from torch.utils.checkpoint import checkpoint

from mmdet.registry import MODELS

DEFORM_IMPLS = ('auto', 'mmcv', 'torch')

# default bound on the sampled columns of one chunk: C * kh * kw * rows * W_out * batch
# elements (2**24 floats = 64 MiB); a P3 map of a 640 x 384 frame with 256 channels is 8.8M
DEFAULT_CHUNK_ELEMS = 2**24
# rows are computed in blocks of about this many sampled-column elements (4 MiB), which keeps
# the columns in cache between the sampling and the matmul (about 20% faster at P3 on CPU)
CACHE_ELEMS = 2**20


class DeformConvUnsupportedError(ValueError):
    """A deformable conv setting that the PyTorch implementation does not support."""


def check_deform_impl(impl: str) -> str:
    """Return ``impl`` if it names an implementation, else raise a ValueError saying which."""
    if impl not in DEFORM_IMPLS:
        raise ValueError(f'deformable conv impl must be one of {DEFORM_IMPLS}, got {impl!r}: '
                         "'auto' runs mmcv's op on CUDA tensors and the PyTorch path on CPU")
    return impl


DEFORM_IMPL_ENV = 'MMSGNET_DEFORM_IMPL'


def auto_override() -> Union[str, None]:
    """What ``MMSGNET_DEFORM_IMPL`` makes 'auto' resolve to (None when unset or empty)."""
    value = os.environ.get(DEFORM_IMPL_ENV, '')
    if value and value not in ('mmcv', 'torch'):
        raise ValueError(f"{DEFORM_IMPL_ENV} must be 'mmcv' or 'torch' (or unset), got "
                         f'{value!r}')
    return value or None


def resolve_deform_impl(impl: str, x: Tensor, groups: int = 1) -> str:
    """The implementation that runs for ``x``: 'mmcv' or 'torch' ('auto': mmcv on CUDA
    tensors and for grouped convs, which the PyTorch path does not support, unless
    ``MMSGNET_DEFORM_IMPL`` names one)."""
    if impl == 'auto':
        override = auto_override()
        if override == 'mmcv' or (override == 'torch' and groups == 1):
            return override
        return 'mmcv' if x.is_cuda or groups != 1 else 'torch'
    return impl


def _output_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - (dilation * (kernel - 1) + 1)) // stride + 1


def _sample_rows(xflat: Tensor, offset: Tensor, weight_t: Tensor, in_hw: Tuple[int, int],
                 kernel: Tuple[int, int], stride: Tuple[int, int], padding: Tuple[int, int],
                 dilation: Tuple[int, int], row0: int) -> Tensor:
    """Deformable conv of a block of output rows, differentiable by autograd.

    Args:
        xflat: The zero-padded input, channels last, one row per (pixel, offset group):
            (B * (H + 2) * (W + 2) * G, C / G).
        offset: The block's offsets (B, G * kh * kw * 2, R, Wo), per point ``(dy, dx)``.
        weight_t: The weight as (G * kh * kw * C / G, O), rows ordered (group, point, channel).
        row0: Index of the block's first output row.
    Returns:
        (B, R * Wo, O).
    """
    B, _, R, Wo = offset.shape
    H, W = in_hw
    kh, kw = kernel
    K = kh * kw
    G = offset.shape[1] // (2 * K)
    Hp, Wp = H + 2, W + 2
    dev, dt = offset.device, offset.dtype
    # mmcv: h_im = (h_col * stride - pad + i * dilation) + offset_h, the integer part first
    oh = torch.arange(row0, row0 + R, device=dev) * stride[0] - padding[0]
    ow = torch.arange(Wo, device=dev) * stride[1] - padding[1]
    ki = torch.arange(kh, device=dev).repeat_interleave(kw) * dilation[0]
    kj = torch.arange(kw, device=dev).repeat(kh) * dilation[1]
    base_y = (oh.view(R, 1, 1, 1) + ki).to(dt)  # (R, 1, 1, K)
    base_x = (ow.view(1, Wo, 1, 1) + kj).to(dt)  # (1, Wo, 1, K)
    off = offset.view(B, G, K, 2, R, Wo).permute(0, 4, 5, 1, 2, 3)  # (B, R, Wo, G, K, 2)
    ys = off[..., 0] + base_y
    xs = off[..., 1] + base_x
    # a point samples zero unless -1 < y < H and -1 < x < W (mmcv's bilinear convention)
    valid = ((ys > -1) & (ys < H) & (xs > -1) & (xs < W)).to(dt)
    with torch.no_grad():
        y0 = ys.floor().clamp_(-1, H - 1)
        x0 = xs.floor().clamp_(-1, W - 1)
        # corners in the padded map (zeros outside the map), one row per offset group
        batch = torch.arange(B, device=dev).view(B, 1, 1, 1, 1) * Hp
        group = torch.arange(G, device=dev).view(1, 1, 1, G, 1)
        i00 = ((batch + y0.long() + 1) * Wp + x0.long() + 1) * G + group
        index = torch.stack((i00, i00 + G, i00 + Wp * G, i00 + (Wp + 1) * G), dim=-1)
    ly = ys - y0  # gradient 1 w.r.t. the offset, as mmcv's
    lx = xs - x0
    hy, hx = 1 - ly, 1 - lx
    weights = torch.stack((hy * hx, hy * lx, ly * hx, ly * lx), dim=-1) * valid[..., None]
    cols = F.embedding_bag(index.view(-1, 4), xflat, per_sample_weights=weights.view(-1, 4),
                           mode='sum')  # (B * R * Wo * G * K, C / G)
    return torch.matmul(cols.view(B, R * Wo, -1), weight_t)


def _sample_chunk(xflat: Tensor, offset: Tensor, weight_t: Tensor, in_hw: Tuple[int, int],
                  kernel: Tuple[int, int], stride: Tuple[int, int], padding: Tuple[int, int],
                  dilation: Tuple[int, int], row0: int, block_rows: int) -> Tensor:
    """:func:`_sample_rows` over blocks of ``block_rows`` rows of a chunk, concatenated."""
    outs = [_sample_rows(xflat, offset[:, :, r:r + block_rows], weight_t, in_hw, kernel, stride,
                         padding, dilation, row0 + r)
            for r in range(0, offset.shape[2], block_rows)]
    return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)


def deform_conv2d_torch(x: Tensor, offset: Tensor, weight: Tensor,
                        stride: Union[int, Tuple[int, int]] = 1,
                        padding: Union[int, Tuple[int, int]] = 0,
                        dilation: Union[int, Tuple[int, int]] = 1, groups: int = 1,
                        deform_groups: int = 1,
                        chunk_elems: int = DEFAULT_CHUNK_ELEMS) -> Tensor:
    """Pure-PyTorch deformable conv with mmcv's ``deform_conv2d`` semantics (no bias).

    Sampled im2col: every kernel point's bilinear sample is a weighted sum of four rows of
    the channels-last, zero-padded input (one ``embedding_bag``), then one matmul with the
    weight. Output rows are processed in chunks of at most ``chunk_elems`` sampled-column
    elements; with grad enabled and several chunks, each chunk is recomputed in the backward
    (``torch.utils.checkpoint``), so memory stays bounded in training too.

    Args:
        x: (B, C, H, W). offset: (B, deform_groups * kh * kw * 2, H_out, W_out), per kernel
            point ``(dy, dx)``. weight: (O, C, kh, kw).
        groups: Must be 1 (grouped convs run on mmcv's op).
        chunk_elems: Bound on the sampled columns of one chunk of output rows (elements).
    """
    if x.dim() != 4:
        raise ValueError(f'deformable conv expects a 4D (B, C, H, W) input, got {x.dim()}D')
    if groups != 1:
        raise DeformConvUnsupportedError(
            f"the PyTorch deformable conv supports groups=1 only, got groups={groups}; use "
            "impl='mmcv' (or 'auto', which falls back to mmcv's op for grouped convs)")
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    B, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    K = kh * kw
    if weight.shape[1] != C or C % deform_groups:
        raise ValueError(f'deformable conv: input channels {C} must equal the weight\'s '
                         f'{weight.shape[1]} and be divisible by deform_groups {deform_groups}')
    Ho = _output_size(H, kh, stride[0], padding[0], dilation[0])
    Wo = _output_size(W, kw, stride[1], padding[1], dilation[1])
    if Ho <= 0 or Wo <= 0:
        raise ValueError(f'deformable conv input {H}x{W} is too small for kernel {kh}x{kw} '
                         f'with padding {padding} and dilation {dilation} (output would be '
                         f'{Ho}x{Wo}); pad the input or lower the dilation')
    expect = (B, deform_groups * K * 2, Ho, Wo)
    if tuple(offset.shape) != expect:
        raise ValueError(f'deformable conv offset must have shape {expect} (B, deform_groups '
                         f'* kh * kw * 2, H_out, W_out), got {tuple(offset.shape)}; check the '
                         'offset conv and deform_groups')
    G, Cg = deform_groups, C // deform_groups
    offset = offset.to(x.dtype)
    xflat = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1).reshape(-1, Cg)
    # weight (O, C = (G, Cg), kh, kw) -> rows ordered (G, K, Cg) like the sampled columns
    weight_t = weight.view(O, G, Cg, K).permute(1, 3, 2, 0).reshape(G * K * Cg, O)
    per_row = B * Wo * C * K  # sampled-column elements of one output row
    rows = max(1, chunk_elems // per_row)
    # within a chunk, blocks of about CACHE_ELEMS elements: sampling and matmul stay in cache
    block_rows = max(1, min(rows, CACHE_ELEMS // per_row))
    checkpointed = torch.is_grad_enabled() and rows < Ho and (
        x.requires_grad or offset.requires_grad or weight.requires_grad)
    outs = []
    for r in range(0, Ho, rows):
        args = (xflat, offset[:, :, r:r + rows], weight_t, (H, W), (kh, kw), stride, padding,
                dilation, r, block_rows)
        if checkpointed:
            outs.append(checkpoint(_sample_chunk, *args, use_reentrant=False))
        else:
            outs.append(_sample_chunk(*args))
    out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
    return out.view(B, Ho, Wo, O).permute(0, 3, 1, 2).contiguous()


@MODELS.register_module()
class DeformConv2dFast(DeformConv2d):
    """mmcv's :class:`~mmcv.ops.DeformConv2d` (same arguments, same state dict) that runs the
    PyTorch implementation on CPU.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
            deform_groups, im2col_step: As mmcv's ``DeformConv2d``.
        bias (bool): Add a learnable bias (a ``bias`` parameter, which mmcv's layer lacks).
            Default False, the mmcv-compatible state dict.
        impl (str): 'auto' (mmcv's op on CUDA tensors and for ``groups > 1``, PyTorch
            otherwise), 'mmcv' or 'torch' (``groups=1`` only).
        chunk_elems (int): Memory bound of the PyTorch path, in sampled-column elements.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: Union[int, Tuple[int, int]],
                 stride: Union[int, Tuple[int, int]] = 1,
                 padding: Union[int, Tuple[int, int]] = 0,
                 dilation: Union[int, Tuple[int, int]] = 1,
                 groups: int = 1,
                 deform_groups: int = 1,
                 bias: bool = False,
                 im2col_step: int = 32,
                 impl: str = 'auto',
                 chunk_elems: int = DEFAULT_CHUNK_ELEMS) -> None:
        if in_channels % deform_groups:
            raise ValueError(f'in_channels {in_channels} must be divisible by deform_groups '
                             f'{deform_groups}')
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, dilation=dilation, groups=groups,
                         deform_groups=deform_groups, bias=False, im2col_step=im2col_step)
        self.impl = check_deform_impl(impl)
        if impl == 'torch' and groups != 1:
            raise DeformConvUnsupportedError(
                f"impl='torch' supports groups=1 only, got groups={groups}; use impl='auto' "
                "or 'mmcv' for grouped deformable convs")
        if chunk_elems < 1:
            raise ValueError(f'chunk_elems must be >= 1, got {chunk_elems}')
        self.chunk_elems = chunk_elems
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_channels))
        else:
            self.register_parameter('bias', None)

    def deform_forward(self, x: Tensor, offset: Tensor) -> Tensor:
        """The deformable conv of ``x`` with ``offset`` by the chosen implementation."""
        if resolve_deform_impl(self.impl, x, self.groups) == 'mmcv':
            out = DeformConv2d.forward(self, x, offset)  # mmcv's, with its small-input padding
        else:
            out = deform_conv2d_torch(x, offset, self.weight, self.stride, self.padding,
                                      self.dilation, self.groups, self.deform_groups,
                                      self.chunk_elems)
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1)
        return out

    def forward(self, x: Tensor, offset: Tensor) -> Tensor:
        """Args: x (B, C, H, W); offset (B, deform_groups * kh * kw * 2, H_out, W_out)."""
        return self.deform_forward(x, offset)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'kernel_size={self.kernel_size}, stride={self.stride}, '
                f'padding={self.padding}, dilation={self.dilation}, groups={self.groups}, '
                f'deform_groups={self.deform_groups}, bias={self.bias is not None}, '
                f'impl={self.impl!r})')


@MMENGINE_MODELS.register_module('DCNFast')
class DeformConv2dFastPack(DeformConv2dFast, DeformConv2dPack):
    """mmcv's ``DCN`` (:class:`~mmcv.ops.DeformConv2dPack`: the offsets come from a conv of the
    input, ``conv_offset``) on :class:`DeformConv2dFast`. Registered as ``'DCNFast'`` for
    ``build_conv_layer``, e.g. ResNet's ``dcn=dict(type='DCNFast', deform_groups=1)``;
    ``impl`` may be given there too. State dict and old-key upgrade as mmcv's ``DCN``.
    """

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return self.deform_forward(x, self.conv_offset(x))
