"""Convert an official YouTube-VIS (2019 or 2021) annotation file to CocoVID, the format
mmdet's ``YouTubeVISDataset`` reads.

Example (from the repository root)::

    python tools/dataset_converters/ytvis2cocovid.py data/youtube_vis_2019/train.json \
        data/youtube_vis_2019/annotations/youtube_vis_2019_train.json

The input is validated first; the output is written atomically. See
``mmsgnet/datasets/ytvis_convert.py`` for the conversion rules.
"""
import argparse
import importlib.util
import os.path as osp
import sys

if importlib.util.find_spec('mmsgnet') is None:  # run from a checkout without installing
    sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert official YouTube-VIS annotations (one record per track, per-frame '
        'lists) to CocoVID (one image per frame, one annotation per present object, '
        'instance ids from 1).')
    parser.add_argument('in_json', help='official YouTube-VIS annotation file')
    parser.add_argument('out_json', help='CocoVID file to write')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmsgnet.datasets.ytvis_convert import convert_ytvis_to_cocovid
    try:
        stats = convert_ytvis_to_cocovid(args.in_json, args.out_json)
    except (ValueError, OSError) as error:  # AnnotationFileError is a ValueError
        sys.exit(f'error: {error}')
    print(f"Wrote {args.out_json}: {stats['num_videos']} videos, {stats['num_images']} frames, "
          f"{stats['num_annotations']} annotations, {stats['num_instances']} instances")


if __name__ == '__main__':
    main()
