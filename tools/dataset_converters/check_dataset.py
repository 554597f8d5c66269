"""Check an annotation file (and its images) before training on it.

Examples (from the repository root)::

    python tools/dataset_converters/check_dataset.py \
        data/coco/annotations/instances_val2017.json --img-dir data/coco/val2017
    python tools/dataset_converters/check_dataset.py \
        data/generated_ytvis/train/annotations/instances_cocovid.json \
        --img-dir data/generated_ytvis/train/JPEGImages --decode

Exits with status 1 and lists every problem, with its fix, when the file is not usable.
"""
import argparse
import importlib.util
import os
import os.path as osp
import sys

if importlib.util.find_spec('mmsgnet') is None:  # run from a checkout without installing
    sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Validate a COCO, CocoVID or official YouTube-VIS annotation file: JSON '
        'syntax, required keys, ids, categories, boxes, masks and (with --img-dir) images.')
    parser.add_argument('ann_file', help='annotation JSON file')
    parser.add_argument('--img-dir', help='folder the file names are relative to; when given, '
                        'every image must exist')
    parser.add_argument('--format', choices=['auto', 'coco', 'cocovid', 'ytvis'],
                        default='auto', help='annotation format (default: detect)')
    parser.add_argument('--decode', action='store_true',
                        help='also decode every image fully and compare its size; a JPEG '
                        'counts as corrupt when libjpeg warns about its data')
    parser.add_argument('--workers', type=int, default=min(8, os.cpu_count() or 1),
                        help='processes that decode images with --decode (default: '
                        'min(8, CPUs))')
    parser.add_argument('--allow-empty', action='store_true',
                        help='accept a file without annotations (hidden-GT test splits)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmsgnet.datasets.validation import AnnotationFileError, validate_annotation_file
    try:
        summary = validate_annotation_file(args.ann_file, args.format, img_dir=args.img_dir,
                                           decode_images=args.decode,
                                           allow_empty=args.allow_empty, progress=True,
                                           workers=args.workers)
    except AnnotationFileError as error:
        sys.exit(str(error))
    images = 'not checked' if args.img_dir is None else (
        'decoded' if args.decode else 'exist')
    if not args.allow_empty:
        for video in summary.get('empty_videos', []):
            print(f'warning: {video} has no annotated object in any frame; training skips it '
                  '(mmdet\'s frame sampler cannot draw from it)', file=sys.stderr)
    counts = ', '.join(f'{v} {k[4:]}' for k, v in summary.items() if k.startswith('num_'))
    print(f"OK: {args.ann_file} ({summary['format']}): {counts}; images {images}")


if __name__ == '__main__':
    main()
