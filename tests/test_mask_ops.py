"""The shared pixel geometry: box-local crop and paste are inverse (pixel centres)."""
import pytest
import torch

from mmsgnet.models.utils import crop_masks_to_boxes, paste_box_masks, paste_box_masks_to_image


def _box_mask(h, w, box):
    x1, y1, x2, y2 = box
    mask = torch.zeros(h, w)
    mask[y1:y2, x1:x2] = 1
    return mask


def test_paste_fills_exactly_the_box_pixels():
    # a saturated box-local mask pasted into an integer box covers exactly its pixels
    box = torch.tensor([[9., 5., 41., 23.]])
    pasted = paste_box_masks(torch.ones(1, 28, 28), box, (32, 48), threshold=0.5)
    assert torch.equal(pasted[0], _box_mask(32, 48, (9, 5, 41, 23)).bool())


def test_crop_then_paste_reproduces_the_mask():
    mask = torch.zeros(40, 60)
    mask[10:30, 12:40] = 1
    mask[15:25, 20:30] = 0  # a hole
    box = torch.tensor([[12., 10., 40., 30.]])
    local = crop_masks_to_boxes(mask[None], box, (28, 28))
    assert local.shape == (1, 28, 28)
    back = paste_box_masks(local, box, (40, 60), threshold=0.5)[0]
    assert (back == mask.bool()).float().mean() > 0.995
    inter = (back & mask.bool()).sum().item()
    union = (back | mask.bool()).sum().item()
    assert inter / union > 0.97


def test_crop_uses_the_given_mask_index_and_pixel_centres():
    masks = torch.stack([torch.zeros(8, 8), torch.ones(8, 8)])
    boxes = torch.tensor([[0., 0., 4., 4.], [0., 0., 4., 4.]])
    out = crop_masks_to_boxes(masks, boxes, (4, 4), inds=torch.tensor([1, 0]))
    assert torch.allclose(out[0], torch.ones(4, 4)) and torch.allclose(out[1], torch.zeros(4, 4))
    # a half-filled box: the left two cells of a 4-px-wide box read columns 0-1 exactly
    half = torch.zeros(1, 8, 8)
    half[0, :, :2] = 1
    out = crop_masks_to_boxes(half, boxes[:1], (4, 4))[0]
    assert torch.allclose(out[:, :2], torch.ones(4, 2), atol=1e-6)
    assert torch.allclose(out[:, 2:], torch.zeros(4, 2), atol=1e-6)


@pytest.mark.parametrize('rescale', [True, False])
def test_paste_to_image_rescales_boxes_and_size(rescale):
    meta = dict(img_shape=(64, 96), ori_shape=(32, 48), scale_factor=(2.0, 2.0))
    boxes = torch.tensor([[20., 10., 60., 50.]])
    masks, out_boxes = paste_box_masks_to_image(torch.ones(1, 28, 28), boxes, meta, rescale, 0.5)
    if rescale:
        assert masks.shape == (1, 32, 48)
        assert torch.allclose(out_boxes, boxes / 2)
        assert torch.equal(masks[0], _box_mask(32, 48, (10, 5, 30, 25)).bool())
    else:
        assert masks.shape == (1, 64, 96)
        assert torch.equal(masks[0], _box_mask(64, 96, (20, 10, 60, 50)).bool())


def test_empty_inputs():
    assert paste_box_masks(torch.zeros(0, 28, 28), torch.zeros(0, 4), (5, 6)).shape == (0, 5, 6)
    assert crop_masks_to_boxes(torch.zeros(0, 5, 6), torch.zeros(0, 4), (7, 7)).shape == (0, 7, 7)
