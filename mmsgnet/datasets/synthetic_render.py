"""Rendering primitives of the generated datasets: textures, shape templates and layered
composition with occlusion.

Pure numpy + OpenCV. Every random draw comes from the ``numpy.random.Generator`` passed in, so
an image is a function of the seed alone. An object is a *template* (a binary shape mask and a
colour texture, both ``TEMPLATE_SIZE`` pixels square) warped into the frame by a similarity
transform (centre, size, angle); a frame is a background plus objects painted back to front.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: Shapes the generators can draw; the shape is the class of an object.
SHAPES = ('ellipse', 'rectangle', 'triangle', 'cross', 'star')
#: Side of the square template an object is drawn in before it is warped into the frame.
TEMPLATE_SIZE = 96


def _random_colour(rng: np.random.Generator, saturation: float) -> np.ndarray:
    """A BGR colour whose distance from grey is scaled by ``saturation`` (float32, (3,))."""
    colour = rng.uniform(0, 255, size=3)
    grey = colour.mean()
    return np.clip(grey + saturation * (colour - grey), 0, 255).astype(np.float32)


def random_texture(rng: np.random.Generator, height: int, width: int,
                   saturation: float = 1.6, noise_std: float = 6.0) -> np.ndarray:
    """Draw a two-colour texture: a gradient, stripes, a checkerboard or smooth noise.

    Args:
        rng (np.random.Generator): Source of randomness.
        height (int): Output height.
        width (int): Output width.
        saturation (float): >1 gives vivid colours (objects), <1 muted ones (backgrounds).
        noise_std (float): Std of the per-pixel Gaussian noise added on top.

    Returns:
        np.ndarray: (height, width, 3) uint8 BGR image.
    """
    colour_a, colour_b = _random_colour(rng, saturation), _random_colour(rng, saturation)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32) / max(height, width)
    theta = rng.uniform(0, np.pi)
    along = xx * np.cos(theta) + yy * np.sin(theta)
    kind = rng.integers(4)
    if kind == 0:  # linear gradient
        weight = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    elif kind == 1:  # stripes
        weight = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 10) * along)
    elif kind == 2:  # checkerboard
        cells = rng.uniform(3, 8)
        weight = ((np.floor(xx * cells) + np.floor(yy * cells)) % 2).astype(np.float32)
    else:  # smooth blobs: coarse noise upsampled
        coarse = rng.random((int(rng.integers(3, 7)), int(rng.integers(3, 7)))).astype(np.float32)
        weight = np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1)
    image = colour_a + weight[..., None] * (colour_b - colour_a)
    image += rng.normal(0, noise_std, size=image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _polygon(points: Sequence[Tuple[float, float]], centre: float) -> np.ndarray:
    return (np.asarray(points, dtype=np.float64) + centre).round().astype(np.int32)


def shape_template(rng: np.random.Generator, shape: str, size: int = TEMPLATE_SIZE) -> np.ndarray:
    """Draw one shape, centred, filling about 90% of a ``size`` x ``size`` template.

    The aspect ratio (and the triangle's apex, the cross's arm width, the star's inner radius)
    is random, but each shape stays recognisable: the class of an object is its shape.

    Args:
        rng (np.random.Generator): Source of randomness.
        shape (str): One of :data:`SHAPES`.
        size (int): Template side in pixels.

    Returns:
        np.ndarray: (size, size) uint8 mask with values {0, 1}.
    """
    mask = np.zeros((size, size), np.uint8)
    centre, radius = size / 2, 0.46 * size
    aspect = rng.uniform(0.55, 1.0)
    if shape == 'ellipse':
        axes = (int(round(radius)), int(round(radius * aspect)))
        cv2.ellipse(mask, (int(centre), int(centre)), axes, 0, 0, 360, 1, -1)
        return mask
    if shape == 'rectangle':
        half_h = radius * aspect
        points = [(-radius, -half_h), (radius, -half_h), (radius, half_h), (-radius, half_h)]
        polygons = [points]
    elif shape == 'triangle':
        apex_x = rng.uniform(-0.4, 0.4) * radius
        polygons = [[(apex_x, -radius), (radius, 0.8 * radius), (-radius, 0.8 * radius)]]
    elif shape == 'cross':
        arm = radius * rng.uniform(0.28, 0.42)
        polygons = [[(-radius, -arm), (radius, -arm), (radius, arm), (-radius, arm)],
                    [(-arm, -radius), (arm, -radius), (arm, radius), (-arm, radius)]]
    elif shape == 'star':
        inner = radius * rng.uniform(0.38, 0.5)
        angles = -np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, radius, inner)
        polygons = [list(zip(radii * np.cos(angles), radii * np.sin(angles)))]
    else:
        raise ValueError(f'Unknown shape {shape!r}; choose from {SHAPES}.')
    for points in polygons:
        cv2.fillPoly(mask, [_polygon(points, centre)], 1)
    return mask


def warp_object(template_mask: np.ndarray, template_texture: np.ndarray,
                centre: Tuple[float, float], size: float, angle: float,
                image_size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Place a template in a frame by a similarity transform.

    Args:
        template_mask (np.ndarray): (S, S) uint8 {0, 1} shape mask.
        template_texture (np.ndarray): (S, S, 3) uint8 texture.
        centre (tuple[float, float]): Where the template centre lands, (x, y) in pixels.
        size (float): Side of the warped template in pixels (the object's extent).
        angle (float): Counter-clockwise rotation in degrees.
        image_size (tuple[int, int]): Frame (width, height).

    Returns:
        tuple[np.ndarray, np.ndarray]: (H, W) bool mask clipped to the frame, and (H, W, 3)
        uint8 texture (meaningful where the mask is set).
    """
    side = template_mask.shape[0]
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, size / side)
    matrix[:, 2] += (centre[0] - side / 2, centre[1] - side / 2)
    mask = cv2.warpAffine(template_mask * 255, matrix, image_size, flags=cv2.INTER_LINEAR,
                          borderValue=0) >= 128
    texture = cv2.warpAffine(template_texture, matrix, image_size, flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT)
    return mask, texture


def compose_layers(background: np.ndarray, layers: Sequence[Tuple[np.ndarray, np.ndarray]],
                   min_area: int, min_visible_fraction: float
                   ) -> Tuple[np.ndarray, List[Optional[np.ndarray]]]:
    """Paint objects back to front and return each object's visible mask.

    Later layers occlude earlier ones. An object whose visible area is below ``min_area``
    pixels, or below ``min_visible_fraction`` of its in-frame area, is removed from the picture
    altogether (so that no unlabelled object pixels remain); removing it can uncover objects
    below it, so this repeats until nothing more is removed.

    Args:
        background (np.ndarray): (H, W, 3) uint8 image.
        layers (Sequence[tuple]): ``(mask, texture)`` pairs, farthest first, as returned by
            :func:`warp_object`.
        min_area (int): Smallest visible area in pixels an object may keep.
        min_visible_fraction (float): Smallest visible share of the in-frame area.

    Returns:
        tuple: The (H, W, 3) uint8 image and, per layer, its (H, W) bool visible mask or
        ``None`` where the object was removed.
    """
    full_areas = [int(mask.sum()) for mask, _ in layers]
    kept = [area >= min_area for area in full_areas]
    while True:
        label = np.zeros(background.shape[:2], np.int32)
        for index, (mask, _) in enumerate(layers):
            if kept[index]:
                label[mask] = index + 1
        visible = [label == index + 1 if kept[index] else None for index in range(len(layers))]
        removed = False
        for index, mask in enumerate(visible):
            if mask is None:
                continue
            area = int(mask.sum())
            if area < max(min_area, min_visible_fraction * full_areas[index]):
                kept[index], removed = False, True
        if not removed:
            break
    image = background.copy()
    for index, mask in enumerate(visible):
        if mask is not None:
            image[mask] = layers[index][1][mask]
    return image, visible
