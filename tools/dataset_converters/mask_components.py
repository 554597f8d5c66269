"""Fit MEInst's PCA mask components from a COCO-format annotation file, report the
reconstruction mIoU per N, or convert AdelaiDet's components file.

    # fit N components, report the upper bound for several N (paper Figure 5), write OUT.npz
    python tools/dataset_converters/mask_components.py ANN_FILE --out OUT.npz \\
        [--num-components 60] [--report 20 40 60 80] [--mask-size 28] [--seed 0]
    # the reconstruction mIoU of an existing file (ours or AdelaiDet's) on ANN_FILE
    python tools/dataset_converters/mask_components.py ANN_FILE --components IN.npz \\
        --report 20 40 60
    # convert AdelaiDet's file (keys *_c, leading class axis) to ours
    python tools/dataset_converters/mask_components.py --components IN.npz --out OUT.npz

Only the annotations are read (no image): every non-crowd instance with a segmentation and a
box of positive size is decoded at its image size, cropped to its GT box at
``mask-size x mask-size`` (``crop_masks_to_boxes``, the training targets' crop) and
binarised at 0.5. The fit jitters each mask into logit space (seeded) and computes an exact,
whitened PCA in one streaming pass (:class:`PCAAccumulator`; the authors use sklearn's
IncrementalPCA, an approximation of the same decomposition). The report applies the same
jitter, encodes with the first N components, decodes, thresholds at 0.5 and prints the
2-class mIoU of AdelaiDet's ``mask_evaluation.py`` and the mean foreground IoU per mask.
The output is written atomically, and only after everything succeeded.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

# isort: off
from mmsgnet.datasets.coco_format import decode_segmentation  # noqa: E402
from mmsgnet.datasets.validation import (AnnotationFileError,  # noqa: E402
                                         load_annotation_json)
from mmsgnet.models.layers.mask_encoding import (ComponentsFileError,  # noqa: E402
                                                 PCAAccumulator, decode, encode,
                                                 jitter_logits, load_components, mask_iou,
                                                 save_components, two_class_miou)
from mmsgnet.models.utils import crop_masks_to_boxes  # noqa: E402
# isort: on

BATCH = 4096  # masks per jitter / PCA / report batch


class MaskComponentsError(ValueError):
    """Bad input for the components tool (the message says the cause and the fix)."""


def _progress(iterable, total: int, desc: str, enable: bool = True):
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr,
                disable=not enable or total < 2)


def collect_box_masks(ann_file: str, mask_size: int = 28, progress: bool = True) -> np.ndarray:
    """Binary ``mask_size``^2 box-local GT masks of the non-crowd instances of a COCO file.

    Returns:
        np.ndarray: (M, ceil(D / 8)) uint8, the masks bit-packed (``np.packbits``, D =
        mask_size^2) to keep COCO's ~860k masks in ~85 MB.
    """
    data = load_annotation_json(ann_file)
    if not isinstance(data, dict) or not isinstance(data.get('annotations'), list) \
            or not isinstance(data.get('images'), list):
        raise AnnotationFileError(ann_file, [
            'file: is not a COCO-format instance file (needs the lists "images" and '
            '"annotations"). Fix: pass a COCO instances JSON'])
    images = {img.get('id'): img for img in data['images'] if isinstance(img, dict)}
    per_image = {}
    for ann in data['annotations']:
        if not isinstance(ann, dict) or ann.get('iscrowd', 0) or not ann.get('segmentation'):
            continue
        bbox = ann.get('bbox')
        if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4 and bbox[2] > 0
                and bbox[3] > 0):
            continue
        per_image.setdefault(ann.get('image_id'), []).append(ann)
    packed = []
    for image_id, anns in _progress(per_image.items(), len(per_image), 'masks', progress):
        img = images.get(image_id)
        if img is None or not img.get('height') or not img.get('width'):
            raise AnnotationFileError(ann_file, [
                f'annotation of image_id {image_id}: the image record is missing or has no '
                'height / width. Fix: repair the file (check it with '
                'tools/dataset_converters/check_dataset.py)'])
        height, width = int(img['height']), int(img['width'])
        try:
            masks = np.ascontiguousarray(np.stack([
                decode_segmentation(a['segmentation'], height, width) for a in anns]))
        except Exception as err:
            raise AnnotationFileError(ann_file, [
                f'image_id {image_id}: a segmentation cannot be decoded ({err}). Fix: repair '
                'the file (check it with tools/dataset_converters/check_dataset.py)']) from err
        boxes = torch.tensor([a['bbox'] for a in anns], dtype=torch.float)
        boxes[:, 2:] += boxes[:, :2]
        crops = crop_masks_to_boxes(torch.from_numpy(masks), boxes, (mask_size, mask_size))
        packed.append(np.packbits((crops > 0.5).flatten(1).numpy(), axis=1))
    dim = mask_size * mask_size
    return np.concatenate(packed) if packed else np.zeros((0, (dim + 7) // 8), np.uint8)


def _batches(packed: np.ndarray, dim: int):
    for start in range(0, len(packed), BATCH):
        bits = np.unpackbits(packed[start:start + BATCH], axis=1, count=dim)
        yield torch.from_numpy(bits.astype(np.float32))


def fit(packed: np.ndarray, dim: int, num_components: int, seed: int = 0,
        progress: bool = True) -> dict:
    """Whitened PCA of the jittered logit masks (exact, one streaming pass)."""
    gen = torch.Generator().manual_seed(seed)
    acc = PCAAccumulator(dim)
    for masks in _progress(_batches(packed, dim), -(-len(packed) // BATCH), 'fit',
                           progress):
        acc.update(jitter_logits(masks, generator=gen))
    return acc.fit(num_components)


def report(packed: np.ndarray, dim: int, comps: dict, sizes: List[int], seed: int = 0) -> list:
    """(N, 2-class mIoU, mean foreground IoU) of encode -> decode -> threshold 0.5."""
    rows = []
    for n in sizes:
        gen = torch.Generator().manual_seed(seed + 1)
        c, mu, var = (torch.from_numpy(np.asarray(comps[k], np.float32))
                      for k in ('components', 'mean', 'explained_variance'))
        c, var = c[:n], var[:n]
        preds, targets = [], []
        for masks in _batches(packed, dim):
            coeffs = encode(jitter_logits(masks, generator=gen), c, mu, var)
            preds.append(decode(coeffs, c, mu, var) > 0.5)
            targets.append(masks > 0.5)
        pred, target = torch.cat(preds), torch.cat(targets)
        rows.append((n, two_class_miou(pred, target), float(mask_iou(pred, target).mean())))
    return rows


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Fit / evaluate / convert MEInst PCA mask components')
    parser.add_argument('ann_file', nargs='?', help='COCO-format instance annotation file')
    parser.add_argument('--out', help='output .npz (written atomically, only on success)')
    parser.add_argument('--num-components', type=int, default=60, help='N to fit (default 60)')
    parser.add_argument('--report', type=int, nargs='+', default=[],
                        help='print the reconstruction mIoU for these N')
    parser.add_argument('--components', help='use this .npz (ours or AdelaiDet\'s) instead '
                        'of fitting: report with it and/or convert it to --out')
    parser.add_argument('--mask-size', type=int, default=28, help='box-local mask side')
    parser.add_argument('--seed', type=int, default=0, help='seed of the jitter')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    return parser.parse_args(argv)


def run(args) -> Optional[str]:
    dim = args.mask_size * args.mask_size
    if args.mask_size < 1:
        raise MaskComponentsError(f'--mask-size must be >= 1, got {args.mask_size}')
    if args.components is None and args.ann_file is None:
        raise MaskComponentsError('give an annotation file to fit (ANN_FILE) or an existing '
                                  'file to convert / evaluate (--components IN.npz)')
    if args.components is None and args.out is None:
        raise MaskComponentsError('nothing to write: give --out OUT.npz')
    if args.components is None and not 1 <= args.num_components <= dim:
        raise MaskComponentsError(
            f'--num-components must be in [1, {dim}] (a {args.mask_size}x{args.mask_size} '
            f'mask has {dim} pixels), got {args.num_components}')
    if args.report and args.ann_file is None:
        raise MaskComponentsError('--report needs the annotation file (ANN_FILE) whose masks '
                                  'are reconstructed')
    bad = [n for n in args.report if n < 1]
    if bad:
        raise MaskComponentsError(f'--report sizes must be >= 1, got {bad}')
    if args.components is not None:
        comps = load_components(args.components)
        if comps['mean'].shape[0] != dim:
            raise MaskComponentsError(
                f'{args.components} holds {comps["mean"].shape[0]}-pixel masks, but '
                f'--mask-size {args.mask_size} means {dim}: pass the matching --mask-size')
        available = comps['components'].shape[0]
    else:
        available = args.num_components
    too_many = [n for n in args.report if n > available]
    if too_many:
        raise MaskComponentsError(f'--report {too_many}: only {available} components '
                                  f'{"in the file" if args.components else "are fitted"}; '
                                  'raise --num-components or drop those sizes')
    packed = None
    if args.ann_file is not None:
        packed = collect_box_masks(args.ann_file, args.mask_size,
                                   progress=not args.no_progress)
        if len(packed) == 0:
            raise MaskComponentsError(
                f'{args.ann_file} has no non-crowd instance with a segmentation and a box of '
                'positive size: nothing to fit or evaluate')
        print(f'{len(packed)} masks from {args.ann_file}')
    if args.components is None:
        if args.num_components > len(packed) - 1:
            raise MaskComponentsError(
                f'--num-components {args.num_components} needs more masks than components '
                f'(at least {args.num_components + 1}); {args.ann_file} has {len(packed)}. '
                'Lower --num-components or use a larger annotation file')
        comps = fit(packed, dim, args.num_components, args.seed, not args.no_progress)
        ratio = float(np.sum(comps['explained_variance_ratio']))
        print(f'{args.num_components} components explain {ratio:.4f} of the variance')
    if args.report:
        print('N    mIoU (2-class)  mean fg IoU')
        for n, miou, fg in report(packed, dim, comps, args.report, args.seed):
            print(f'{n:<4d} {miou:.4f}          {fg:.4f}')
    if args.out is None:
        return None
    extra = {k: comps[k] for k in ('explained_variance_ratio', ) if k in comps}
    if packed is not None and args.components is None:
        extra['num_masks'] = len(packed)
    save_components(args.out, comps['components'], comps['mean'], comps['explained_variance'],
                    mask_size=args.mask_size, **extra)
    print(f'saved {args.out}')
    return args.out


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except (MaskComponentsError, ComponentsFileError, AnnotationFileError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
