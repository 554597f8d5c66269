"""Time the GranularityBlender against a naive dense implementation.

The naive version computes every cell's full-map sigmoid for every instance
(N x G*G x H x W, as SipMask's original crop-split path does) and then selects each pixel's
cell inside the box. Both run in the same process on the same inputs.

Example::

    python tools/analysis_tools/benchmark_blender.py --device cpu
    python tools/analysis_tools/benchmark_blender.py --mode sgnet --input-size 640 --device cuda
"""
import argparse
import json
import statistics
import time

import torch

from mmsgnet.models.layers import GranularityBlender, canonical_cell, division_grid
from mmsgnet.models.utils import pixel_centres


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark the GranularityBlender')
    parser.add_argument('--mode', choices=['sipmask', 'sgnet'], default='sipmask',
                        help='sipmask: fixed k x k grid, shared 32-channel basis; '
                        'sgnet: dynamic grid, one channel group per canonical cell')
    parser.add_argument('--boxes', type=int, nargs='+', default=[1, 10, 100])
    parser.add_argument('--input-size', type=int, default=544, help='square input, pixels')
    parser.add_argument('--base-stride', type=int, default=2)
    parser.add_argument('--channels', type=int, default=32, help='sipmask basis channels m')
    parser.add_argument('--max-division', type=int, default=None,
                        help='G (default: 2 for sipmask, 6 for sgnet)')
    parser.add_argument('--division-size', type=float, default=50.0, help='sgnet S, pixels')
    parser.add_argument('--attention-dim', type=int, default=1, help='sgnet d')
    parser.add_argument('--min-side', type=float, default=0.05,
                        help='smallest box side as a fraction of the input size')
    parser.add_argument('--max-side', type=float, default=0.5,
                        help='largest box side as a fraction of the input size')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--threads', type=int, default=None, help='CPU threads for torch')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', metavar='OUT', help='write the figures to this JSON file')
    return parser.parse_args()


def naive_blend(blender, base, boxes, coeffs):
    """All N x G*G full-map sigmoids, then keep each in-box pixel's cell (dense crop)."""
    channels, height, width = base.shape
    grid = blender.max_division  # G or (rows, cols)
    if blender.shared_basis:  # (N, G*G, H, W) = coeffs (N, G*G, C) x base (C, H, W)
        maps = torch.einsum('nkc,chw->nkhw', coeffs, base)
    else:  # cell j reads channel group j
        groups = base.view(blender.num_cells, coeffs.shape[2], height, width)
        maps = torch.einsum('nkd,kdhw->nkhw', coeffs, groups)
    maps = maps.sigmoid()
    rows, cols = division_grid(boxes, grid, blender.division_size)
    boxes = boxes.double()
    sizes = boxes[:, 2:] - boxes[:, :2]
    # pixel centres in input pixels (mask_ops' convention): (1, W) and (1, H)
    cx = pixel_centres(torch.arange(width, device=base.device, dtype=torch.float64)[None],
                       blender.base_stride)
    cy = pixel_centres(torch.arange(height, device=base.device, dtype=torch.float64)[None],
                       blender.base_stride)
    inside_x = (cx >= boxes[:, 0:1]) & (cx < boxes[:, 2:3])  # (N, W)
    inside_y = (cy >= boxes[:, 1:2]) & (cy < boxes[:, 3:4])  # (N, H)
    v = torch.floor((cx - boxes[:, 0:1]) / (sizes[:, 0:1] / cols[:, None])).long()
    u = torch.floor((cy - boxes[:, 1:2]) / (sizes[:, 1:2] / rows[:, None])).long()
    v = torch.minimum(v.clamp(min=0), cols[:, None] - 1)
    u = torch.minimum(u.clamp(min=0), rows[:, None] - 1)
    cell = canonical_cell(u[:, :, None], v[:, None, :], rows[:, None, None],
                          cols[:, None, None], grid)  # (N, H, W)
    masks = maps.gather(1, cell[:, None]).squeeze(1)
    return masks * (inside_y[:, :, None] & inside_x[:, None, :])


def random_boxes(num, size, min_side, max_side, gen):
    sides = (min_side + (max_side - min_side) * torch.rand(num, 2, generator=gen)) * size
    corners = torch.rand(num, 2, generator=gen) * (size - sides)
    return torch.cat([corners, corners + sides], 1)


def median_ms(fn, warmup, repeats, device):
    times = []
    for i in range(warmup + repeats):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    args = parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda asked for, but torch sees no CUDA device; '
                         'use --device cpu')
    if args.threads:
        torch.set_num_threads(args.threads)
    sgnet = args.mode == 'sgnet'
    grid = args.max_division or (6 if sgnet else 2)
    blender = GranularityBlender(max_division=grid,
                                 division_size=args.division_size if sgnet else None,
                                 shared_basis=not sgnet, base_stride=args.base_stride)
    dim = args.attention_dim if sgnet else args.channels
    channels = grid * grid * dim if sgnet else args.channels
    side = args.input_size // args.base_stride
    gen = torch.Generator().manual_seed(args.seed)
    base = torch.randn(channels, side, side, generator=gen).to(args.device)
    print(f'{args.mode}: base {channels}x{side}x{side}, G={grid}, d={dim}, '
          f'device={args.device}, threads={torch.get_num_threads()}, '
          f'median of {args.repeats} after {args.warmup} warm-up')
    print(f'{"boxes":>6} {"area/img":>9} {"ours ms":>9} {"naive ms":>9} {"naive/ours":>10} '
          f'{"max diff":>9}')
    rows = []
    with torch.no_grad():
        for num in args.boxes:
            boxes = random_boxes(num, args.input_size, args.min_side, args.max_side,
                                 gen).to(args.device)
            coeffs = torch.randn(num, grid * grid, dim, generator=gen).to(args.device)
            diff = (blender(base, boxes, coeffs) -
                    naive_blend(blender, base, boxes, coeffs)).abs().max().item()
            ours = median_ms(lambda: blender(base, boxes, coeffs), args.warmup, args.repeats,
                             args.device)
            naive = median_ms(lambda: naive_blend(blender, base, boxes, coeffs), args.warmup,
                              args.repeats, args.device)
            area = ((boxes[:, 2:] - boxes[:, :2]).prod(1).sum() / args.input_size**2).item()
            rows.append(dict(boxes=num, box_area_per_image=area, ours_ms=ours, naive_ms=naive,
                             speedup=naive / ours, max_abs_diff=diff))
            print(f'{num:>6} {area:>9.2f} {ours:>9.2f} {naive:>9.2f} {naive / ours:>10.2f} '
                  f'{diff:>9.1e}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=vars(args), device_name=(
                torch.cuda.get_device_name() if args.device == 'cuda' else 'cpu'),
                           results=rows), f, indent=2)


if __name__ == '__main__':
    main()
