"""Generate a synthetic instance-segmentation dataset (COCO images or YouTube-VIS videos).

Examples (from the repository root)::

    python tools/dataset_converters/generate_dataset.py coco \
        --out-dir data/generated_coco/train --num-images 200 --seed 0
    python tools/dataset_converters/generate_dataset.py ytvis \
        --out-dir data/generated_ytvis/train --num-videos 32 --num-frames 30 --seed 0

Use a different seed for a held-out split. See ``mmsgnet/datasets/synthetic.py`` for what is
drawn and the files written.
"""
import argparse
import importlib.util
import os.path as osp
import sys

if importlib.util.find_spec('mmsgnet') is None:  # run from a checkout without installing
    sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate a synthetic COCO instance or YouTube-VIS dataset of textured '
        'shapes (the shape is the class).')
    subparsers = parser.add_subparsers(dest='kind', required=True, metavar='{coco,ytvis}')
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--out-dir', required=True, help='output folder (one split)')
    common.add_argument('--size', nargs=2, type=int, default=(320, 240), metavar=('W', 'H'),
                        help='image width and height (default: 320 240)')
    common.add_argument('--seed', type=int, default=0,
                        help='random seed; use another one for a held-out split (default: 0)')
    common.add_argument('--max-objects', type=int, default=None,
                        help='most objects per image/video (default: 6 for coco, 4 for ytvis)')
    coco = subparsers.add_parser(
        'coco', parents=[common], help='COCO instances: images/ + annotations/instances.json')
    coco.add_argument('--num-images', type=int, default=200, help='default: 200')
    coco.add_argument('--classes', nargs='+', default=['ellipse', 'rectangle', 'triangle'],
                      help='shapes to draw, from ellipse rectangle triangle cross star')
    coco.add_argument('--mask-format', choices=['rle', 'polygon'], default='rle')
    ytvis = subparsers.add_parser(
        'ytvis', parents=[common], help='YouTube-VIS videos: JPEGImages/ + '
        'annotations/instances.json (official) + annotations/instances_cocovid.json')
    ytvis.add_argument('--num-videos', type=int, default=32, help='default: 32')
    ytvis.add_argument('--num-frames', type=int, default=30, help='frames a video (default: 30)')
    ytvis.add_argument('--num-classes', type=int, default=3,
                       help='categories used, the first ones of YouTube-VIS (default: 3)')
    ytvis.add_argument('--dataset-version', choices=['2019', '2021'], default='2019')
    ytvis.add_argument('--min-area', type=int, default=None,
                       help='smallest object area in pixels (default: scaled to the frame)')
    ytvis.add_argument('--objects-stay', action='store_true',
                       help='objects never leave the frame (default: some leave and return)')
    ytvis.add_argument('--motion', choices=['random', 'crossing', 'mixed'], default='random',
                       help="'crossing': two objects cross in the middle frame (same speed or "
                       'one faster), one stands still, one leaves and returns within ~3 '
                       "frames (a held-out split for identity); 'mixed': videos 4k and "
                       '4k+1 crossing, the others random (training data); default: random')
    ytvis.add_argument('--similar-appearance', action='store_true',
                       help='all objects of a video share one class and near-identical textures')
    ytvis.add_argument('--crossing-gap', type=float, default=0.0,
                       help='with --motion crossing/mixed: how far apart the crossing objects '
                       "pass, in units of their size (0: through one point, the back one "
                       'mostly or all hidden; 0.5: up to about half hidden); default: 0')
    args = parser.parse_args(argv)
    if min(args.size) < 1 or args.seed < 0:
        parser.error('--size must be positive and --seed non-negative')
    counts = ['--num-images'] if args.kind == 'coco' else ['--num-videos', '--num-frames']
    for option in counts + ['--max-objects']:
        value = getattr(args, option[2:].replace('-', '_'))
        if value is not None and value < 1:
            parser.error(f'{option} must be >= 1, got {value}')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmsgnet.datasets.synthetic import generate_coco_instance, generate_youtube_vis
    size = tuple(args.size)
    try:
        if args.kind == 'coco':
            extra = {} if args.max_objects is None else dict(max_objects=args.max_objects)
            path = generate_coco_instance(args.out_dir, num_images=args.num_images,
                                          image_size=size, seed=args.seed,
                                          classes=tuple(args.classes),
                                          mask_format=args.mask_format, progress=True, **extra)
            print(f'Wrote {args.num_images} images and {path}')
        else:
            extra = {} if args.max_objects is None else dict(max_objects=args.max_objects)
            paths = generate_youtube_vis(args.out_dir, num_videos=args.num_videos,
                                         num_frames=args.num_frames, image_size=size,
                                         seed=args.seed, num_classes=args.num_classes,
                                         dataset_version=args.dataset_version,
                                         min_area=args.min_area,
                                         objects_leave=not args.objects_stay, progress=True,
                                         motion=args.motion,
                                         similar_appearance=args.similar_appearance,
                                         crossing_gap=args.crossing_gap, **extra)
            print(f"Wrote {args.num_videos} videos, {paths['ytvis']} and {paths['cocovid']}")
    except (ValueError, OSError) as error:
        sys.exit(f'error: {error}')


if __name__ == '__main__':
    main()
