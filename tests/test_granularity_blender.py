"""GranularityBlender (METHODS.md section 4): geometry, values, gradients, registry."""
import math

import pytest
import torch

import mmsgnet  # noqa: F401  (registers the plugin into mmdet's registries)
from mmdet.registry import MODELS
from mmsgnet.models.layers import BoxPixels, GranularityBlender, canonical_cell, division_grid
from mmsgnet.models.layers import granularity_blender as blender_module


def reference_masks(base, boxes, coeffs, max_division, division_size, shared_basis, stride):
    """Per-pixel triple loop written straight from the formulas of METHODS.md section 4."""
    channels, height, width = base.shape
    grid = max_division
    dim = coeffs.shape[2]
    masks = torch.zeros(boxes.shape[0], height, width, dtype=base.dtype)
    for i in range(boxes.shape[0]):
        x1, y1, x2, y2 = (float(t) for t in boxes[i])
        if division_size is None:
            r_x = r_y = grid
        else:
            r_x = min(grid, max(1, math.ceil((x2 - x1) / division_size)))
            r_y = min(grid, max(1, math.ceil((y2 - y1) / division_size)))
        for py in range(height):
            for px in range(width):
                cx, cy = (px + 0.5) * stride, (py + 0.5) * stride  # the pixel's centre
                if not (x1 <= cx < x2 and y1 <= cy < y2):
                    continue
                v = math.floor((cx - x1) / ((x2 - x1) / r_x))
                u = math.floor((cy - y1) / ((y2 - y1) / r_y))
                v = min(max(v, 0), r_x - 1)
                u = min(max(u, 0), r_y - 1)
                j = math.floor((u + 0.5) * grid / r_y) * grid + math.floor((v + 0.5) * grid / r_x)
                if shared_basis:
                    feature = base[:, py, px]
                else:
                    feature = base[j * dim:(j + 1) * dim, py, px]
                masks[i, py, px] = torch.sigmoid(feature @ coeffs[i, j])
    return masks


def random_case(num_boxes, height, width, stride, channels, cells, dim, seed=0,
                dtype=torch.float64):
    """Random base/coeffs and boxes, some exceeding the map border, one of zero size."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(channels, height, width, generator=gen, dtype=dtype)
    coeffs = torch.randn(num_boxes, cells, dim, generator=gen, dtype=dtype)
    img_w, img_h = width * stride, height * stride
    centers = torch.rand(num_boxes, 2, generator=gen) * torch.tensor([img_w, img_h])
    sizes = torch.rand(num_boxes, 2, generator=gen) * torch.tensor([img_w, img_h]) * 1.2
    boxes = torch.cat([centers - sizes / 2, centers + sizes / 2], 1)
    if num_boxes > 1:
        boxes[1] = torch.tensor([-13.3, -7.0, img_w + 9.5, img_h + 0.5])  # exceeds all borders
    if num_boxes > 2:
        boxes[2, 2:] = boxes[2, :2]  # zero size
    return base, boxes.float(), coeffs


# --------------------------------------------------------------------------- geometry


def test_division_grid_fixed_grid_is_k_by_k():
    boxes = torch.tensor([[0., 0., 10., 400.], [5., 5., 5., 5.]])
    rows, cols = division_grid(boxes, 2, None)
    assert rows.tolist() == [2, 2] and cols.tolist() == [2, 2]


def test_division_grid_dynamic_hand_computed():
    # widths / heights: 120 x 40, 100 x 100 (exact multiples), 400 x 301, 0 x 0, 50.5 x 1
    boxes = torch.tensor([[10., 20., 130., 60.], [0., 0., 100., 100.], [0., 0., 400., 301.],
                          [7., 7., 7., 7.], [0., 0., 50.5, 1.]])
    rows, cols = division_grid(boxes, 6, 50)
    assert cols.tolist() == [3, 2, 6, 1, 2]
    assert rows.tolist() == [1, 2, 6, 1, 1]


def test_division_grid_dynamic_caps_at_max_division():
    rows, cols = division_grid(torch.tensor([[0., 0., 1000., 250.]]), 4, 50)
    assert (rows.item(), cols.item()) == (4, 4)


@pytest.mark.parametrize('grid, divisions, expected', [
    (6, 3, [1, 3, 5]),
    (6, 2, [1, 4]),
    (6, 1, [3]),
    (6, 4, [0, 2, 3, 5]),
    (6, 6, [0, 1, 2, 3, 4, 5]),
    (8, 3, [1, 4, 6]),
    (2, 2, [0, 1]),
])
def test_canonical_cell_along_one_axis(grid, divisions, expected):
    v = torch.arange(divisions)
    cells = canonical_cell(torch.zeros_like(v), v, torch.tensor(1), torch.tensor(divisions), grid)
    # row 0 of a one-row grid is canonical row floor(0.5 * G), i.e. offset (G // 2) * G
    assert (cells - (grid // 2) * grid).tolist() == expected


def test_canonical_cell_row_major_index():
    u, v = torch.meshgrid(torch.arange(2), torch.arange(3), indexing='ij')
    cells = canonical_cell(u, v, torch.tensor(2), torch.tensor(3), 6)
    # rows 0, 1 of 2 -> canonical rows 1, 4; cols 0, 1, 2 of 3 -> canonical cols 1, 3, 5
    assert cells.tolist() == [[7, 9, 11], [25, 27, 29]]


def test_canonical_cell_is_identity_on_fixed_grid():
    u, v = torch.meshgrid(torch.arange(3), torch.arange(3), indexing='ij')
    cells = canonical_cell(u, v, torch.tensor(3), torch.tensor(3), 3)
    assert cells.flatten().tolist() == list(range(9))


def test_box_pixels_hand_computed_quadrants():
    blender = GranularityBlender(max_division=2, base_stride=2)
    pixels = blender.box_pixels(torch.tensor([[0., 0., 8., 4.]]), height=5, width=6)
    assert pixels.counts.tolist() == [8]
    assert pixels.y.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert pixels.x.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert pixels.cell.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert pixels.inst.tolist() == [0] * 8


def test_box_pixels_uses_pixel_centres_and_clamps():
    blender = GranularityBlender(max_division=2, base_stride=2)
    # centres (px + 0.5) * 2 = 1, 3, 5, 7: 1 <= centre < 5 -> px in {0, 1}; the second box
    # exceeds the top-left border: x centres < 5 -> {0, 1}, y centres < 3 -> {0}
    boxes = torch.tensor([[1., 1., 5., 5.], [-10., -10., 5., 3.]])
    pixels = blender.box_pixels(boxes, height=4, width=4)
    assert pixels.counts.tolist() == [4, 2]
    first = pixels.inst == 0
    assert sorted(zip(pixels.y[first].tolist(), pixels.x[first].tolist())) == [
        (0, 0), (0, 1), (1, 0), (1, 1)]
    assert pixels.cell[first].tolist() == [0, 1, 2, 3]  # centres 1 / 3 | 3 is the midline
    second = pixels.inst == 1
    assert set(pixels.y[second].tolist()) == {0} and set(pixels.x[second].tolist()) == {0, 1}
    # box 2 spans [-10, 5) x [-10, 3): cells of width 7.5 and 6.5 -> the visible centres
    # (1 and 3 >= -2.5, 1 >= -3.5) lie in the bottom-right quadrant
    assert set(pixels.cell[second].tolist()) == {3}


@pytest.mark.parametrize('stride', [2, 4, 8])
@pytest.mark.parametrize('box', [(9., 5., 41., 27.), (3.2, 10.7, 50.9, 33.3), (0., 0., 64., 40.),
                                 (17.5, 2., 30.5, 46.)])
def test_a_box_pastes_back_onto_itself(stride, box):
    """A mask that is 1 inside a box (saturating coefficients) through the blender and the
    paste: the pasted mask's extent is the box within half a base pixel (s / 2)."""
    from mmsgnet.models.utils import paste_masks_to_image
    height, width = 48, 64  # input pixels
    blender = GranularityBlender(max_division=1, shared_basis=True, base_stride=stride)
    base = torch.full((1, height // stride, width // stride), 50.)
    boxes = torch.tensor([box])
    probs = blender(base, boxes, torch.ones(1, 1, 1))
    meta = dict(img_shape=(height, width), ori_shape=(height, width), scale_factor=(1., 1.))
    masks, _ = paste_masks_to_image(probs, boxes, meta, stride, rescale=False, threshold=0.5)
    cols = masks[0].any(0).nonzero()[:, 0]
    rows = masks[0].any(1).nonzero()[:, 0]
    pasted = [cols.min().item(), rows.min().item(), cols.max().item() + 1, rows.max().item() + 1]
    for got, want in zip(pasted, box):
        assert abs(got - want) <= stride / 2, (pasted, box)


@pytest.mark.parametrize('stride', [4, 8])
def test_box_pixels_agree_with_the_downsampled_gt_mask(stride):
    """The mask loss reads GT pixel (px, py) of the downsampled GT mask: for a GT mask that
    is its box, the pixels the blender puts inside the box are the GT mask's pixels (box
    edges away from the ties, where a base pixel is exactly half covered)."""
    from mmsgnet.models.utils import masks_to_grid
    height, width = 48, 64
    box = (9, 5, 43, 27)  # 1 or 3 mod 4, and not within 0.5 px of a centre at stride 8
    gt = torch.zeros(1, height, width)
    gt[0, box[1]:box[3], box[0]:box[2]] = 1
    grid = masks_to_grid(gt, (height // stride, width // stride))[0]
    blender = GranularityBlender(max_division=2, base_stride=stride)
    pixels = blender.box_pixels(torch.tensor([box], dtype=torch.float), *grid.shape)
    inside = torch.zeros_like(grid)
    inside[pixels.y, pixels.x] = 1
    assert grid.sum() > 0
    torch.testing.assert_close(inside, grid)


def test_box_pixels_counts_equal_in_map_box_area():
    blender = GranularityBlender(max_division=6, division_size=50, shared_basis=False)
    boxes = torch.tensor([[0., 0., 40., 20.], [3., 5., 103., 55.], [100., 100., 100., 180.]])
    pixels = blender.box_pixels(boxes, height=64, width=64)
    assert pixels.counts.tolist() == [20 * 10, 50 * 25, 0]
    assert pixels.inst.numel() == int(pixels.counts.sum())


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize('grid', [2, 3])
def test_fixed_grid_shared_basis_matches_reference(grid):
    base, boxes, coeffs = random_case(5, 11, 13, 2, 4, grid * grid, 4, seed=grid)
    blender = GranularityBlender(max_division=grid, shared_basis=True, base_stride=2)
    expected = reference_masks(base, boxes, coeffs, grid, None, True, 2)
    torch.testing.assert_close(blender(base, boxes, coeffs), expected)


@pytest.mark.parametrize('dim', [1, 2])
@pytest.mark.parametrize('stride, division_size', [(8, 50.), (2, 12.5)])
def test_dynamic_grid_channel_groups_match_reference(dim, stride, division_size):
    # 40 x 40 base pixels; boxes up to ~1.2x the image span 1..6 cells per side
    base, boxes, coeffs = random_case(6, 40, 40, stride, 36 * dim, 36, dim, seed=dim + stride)
    blender = GranularityBlender(max_division=6, division_size=division_size,
                                 shared_basis=False, base_stride=stride)
    expected = reference_masks(base, boxes, coeffs, 6, division_size, False, stride)
    rows, cols = division_grid(boxes, 6, division_size)
    assert len(set(rows.tolist() + cols.tolist())) >= 3  # the case really varies the grid
    torch.testing.assert_close(blender(base, boxes, coeffs), expected)


def test_dynamic_grid_with_shared_basis_matches_reference():
    base, boxes, coeffs = random_case(4, 20, 20, 4, 3, 16, 3, seed=7)
    blender = GranularityBlender(max_division=4, division_size=20, shared_basis=True,
                                 base_stride=4)
    expected = reference_masks(base, boxes, coeffs, 4, 20, True, 4)
    torch.testing.assert_close(blender(base, boxes, coeffs), expected)


def test_zero_size_and_outside_boxes_give_all_zero_masks():
    base, _, coeffs = random_case(3, 8, 8, 2, 4, 4, 4)
    boxes = torch.tensor([[4., 4., 4., 10.], [6., 6., 2., 9.], [30., 30., 40., 40.]])
    masks = GranularityBlender()(base, boxes, coeffs)
    assert masks.shape == (3, 8, 8) and not masks.any()


def test_no_instances():
    blender = GranularityBlender(max_division=6, division_size=50, shared_basis=False)
    base = torch.randn(36, 7, 9)
    masks = blender(base, torch.zeros(0, 4), torch.zeros(0, 36, 1))
    assert masks.shape == (0, 7, 9)
    pixels = blender.box_pixels(torch.zeros(0, 4), 7, 9)
    assert isinstance(pixels, BoxPixels) and pixels.inst.numel() == 0
    assert blender.blend_logits(base, torch.zeros(0, 36, 1), pixels).shape == (0, )


def test_blend_logits_agree_with_forward_on_in_box_pixels():
    base, boxes, coeffs = random_case(5, 16, 16, 8, 36, 36, 1, seed=3)
    blender = GranularityBlender(max_division=6, division_size=50, shared_basis=False,
                                 base_stride=8)
    pixels = blender.box_pixels(boxes, 16, 16)
    logits = blender.blend_logits(base, coeffs, pixels)
    masks = blender(base, boxes, coeffs)
    torch.testing.assert_close(logits.sigmoid(), masks[pixels.inst, pixels.y, pixels.x])
    inside = torch.zeros_like(masks, dtype=torch.bool)
    inside[pixels.inst, pixels.y, pixels.x] = True
    assert not masks[~inside].any()


@pytest.mark.parametrize('grid, division_size, shared_basis, channels, dim', [
    (2, None, True, 8, 8), (3, 8., False, 9, 1)])
def test_chunked_blending_matches_single_chunk(monkeypatch, grid, division_size, shared_basis,
                                               channels, dim):
    base, boxes, coeffs = random_case(4, 12, 12, 2, channels, grid * grid, dim, seed=5)
    base.requires_grad_(True)
    coeffs.requires_grad_(True)
    blender = GranularityBlender(grid, division_size, shared_basis)
    whole = blender(base, boxes, coeffs)
    grads = torch.autograd.grad(whole.sum(), (base, coeffs))
    monkeypatch.setattr(blender_module, '_CHUNK_ELEMENTS', 40)  # 5 or 40 pairs per chunk
    chunked = blender(base, boxes, coeffs)
    torch.testing.assert_close(chunked, whole)
    for got, want in zip(torch.autograd.grad(chunked.sum(), (base, coeffs)), grads):
        torch.testing.assert_close(got, want)


def test_half_precision_inputs_run():
    base, boxes, coeffs = random_case(3, 10, 10, 2, 4, 4, 4, dtype=torch.float32)
    masks = GranularityBlender()(base.bfloat16(), boxes, coeffs.bfloat16())
    assert masks.dtype == torch.bfloat16
    torch.testing.assert_close(masks.float(), GranularityBlender()(base, boxes, coeffs),
                               atol=2e-2, rtol=0)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize('shared_basis, division_size, channels, dim', [
    (True, None, 3, 3), (False, 20., 18, 2), (False, 20., 9, 1)])
def test_gradients_match_reference_autograd(shared_basis, division_size, channels, dim):
    grid = 2 if shared_basis else 3
    base, boxes, coeffs = random_case(4, 9, 9, 4, channels, grid * grid, dim, seed=11)
    weights = torch.randn(4, 9, 9, dtype=torch.float64)
    grads = []
    for fn in (GranularityBlender(grid, division_size, shared_basis, base_stride=4),
               lambda b, x, c: reference_masks(b, x, c, grid, division_size, shared_basis, 4)):
        leaf_base = base.clone().requires_grad_(True)
        leaf_coeffs = coeffs.clone().requires_grad_(True)
        (fn(leaf_base, boxes, leaf_coeffs) * weights).sum().backward()
        grads.append((leaf_base.grad, leaf_coeffs.grad))
    assert grads[0][0].abs().sum() > 0 and grads[0][1].abs().sum() > 0
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])


def test_gradcheck_blend_logits():
    base, boxes, coeffs = random_case(3, 5, 5, 2, 4, 4, 4, seed=2)
    blender = GranularityBlender()
    pixels = blender.box_pixels(boxes, 5, 5)
    assert torch.autograd.gradcheck(
        lambda b, c: blender.blend_logits(b, c, pixels),
        (base.requires_grad_(True), coeffs.requires_grad_(True)))


# --------------------------------------------------------------------------- errors, registry


@pytest.mark.parametrize('kwargs, match', [
    (dict(max_division=0), 'max_division'),
    (dict(max_division=2.0), 'max_division'),
    (dict(division_size=0), 'division_size'),
    (dict(division_size=-50), 'division_size'),
    (dict(base_stride=0), 'base_stride'),
])
def test_constructor_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GranularityBlender(**kwargs)


def test_forward_rejects_inconsistent_shapes():
    sipmask = GranularityBlender(max_division=2, shared_basis=True)
    boxes = torch.tensor([[0., 0., 4., 4.]])
    with pytest.raises(ValueError, match=r'\(N, 4, 32\).*got \(1, 4, 16\)'):
        sipmask(torch.zeros(32, 4, 4), boxes, torch.zeros(1, 4, 16))
    with pytest.raises(ValueError, match='2 instances but boxes has 1'):
        sipmask(torch.zeros(32, 4, 4), boxes, torch.zeros(2, 4, 32))
    sgnet = GranularityBlender(max_division=6, division_size=50, shared_basis=False)
    with pytest.raises(ValueError, match='C=32 channels'):
        sgnet(torch.zeros(32, 4, 4), boxes, torch.zeros(1, 36, 1))
    with pytest.raises(ValueError, match=r'\(N, 36, 2\).*got \(1, 36, 1\)'):
        sgnet(torch.zeros(72, 4, 4), boxes, torch.zeros(1, 36, 1))
    with pytest.raises(ValueError, match=r'\(N, 4\)'):
        sipmask(torch.zeros(32, 4, 4), torch.zeros(1, 5), torch.zeros(1, 4, 32))


def test_registry_builds_both_modes():
    sipmask = MODELS.build(dict(type='GranularityBlender', max_division=2))
    sgnet = MODELS.build(dict(type='GranularityBlender', max_division=6, division_size=50,
                              shared_basis=False, base_stride=2))
    assert isinstance(sipmask, GranularityBlender) and sipmask.shared_basis
    assert sgnet.num_cells == 36 and sgnet.division_size == 50
    assert len(list(sgnet.parameters())) == 0


# --------------------------------------------------------------------------- CUDA


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_matches_cpu():
    for grid, division_size, shared_basis, channels, dim in [(2, None, True, 8, 8),
                                                             (6, 50., False, 72, 2)]:
        base, boxes, coeffs = random_case(6, 40, 40, 8, channels, grid * grid, dim,
                                          seed=grid, dtype=torch.float32)
        blender = GranularityBlender(grid, division_size, shared_basis, base_stride=8)
        results = []
        for device in ('cpu', 'cuda'):
            leaf_base = base.to(device).requires_grad_(True)
            leaf_coeffs = coeffs.to(device).requires_grad_(True)
            masks = blender(leaf_base, boxes.to(device), leaf_coeffs)
            masks.square().sum().backward()
            results.append([t.detach().cpu() for t in (masks, leaf_base.grad,
                                                       leaf_coeffs.grad)])
        for got, want in zip(results[1], results[0]):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_fixed_non_square_grid_uses_one_coefficient_set_per_column():
    """SipMask Table 4 grids (rows, cols): a 1x2 grid splits the box into left/right."""
    from mmsgnet.models.layers import GranularityBlender
    blender = GranularityBlender(max_division=(1, 2), shared_basis=True, base_stride=1)
    base = torch.ones(1, 4, 8)
    coeffs = torch.tensor([[[-3.0], [3.0]]])  # left cell, right cell
    probs = blender(base, torch.tensor([[0., 0., 8., 4.]]), coeffs)[0]
    left, right = torch.sigmoid(torch.tensor([-3., 3.])).tolist()
    torch.testing.assert_close(probs[:, :4], torch.full((4, 4), left))
    torch.testing.assert_close(probs[:, 4:], torch.full((4, 4), right))
    assert blender.num_cells == 2
