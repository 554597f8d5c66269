"""Identity table (issue 15): video configs trained and tested on one generated crossing video.

    python tools/analysis_tools/identity_table.py CONFIG [CONFIG ...] --work-dir DIR \
        [--iters 300] [--size W H] [--num-frames 10] [--seed 0] [--lr 0.005] [--json OUT] \
        [--trackers JSON] [--cfg-options k=v ...]

Generates ONE video into ``DIR/video`` (``generate_youtube_vis(motion='crossing',
max_objects=3)``: two objects cross in the middle frame, one occluding the other, a third
stands still), then for each config (``mmdet::`` names mmdet's, e.g.
``mmdet::masktrack_rcnn/masktrack-rcnn_mask-rcnn_r50_fpn_8xb1-12e_youtubevis2019.py``):

- the backbone becomes a ResNet-18 trained from scratch (random init, trainable BN, nothing
  frozen, nothing downloaded; the neck's ``in_channels`` follow the kept ``out_indices``), so
  the configs differ by their heads and trackers only; a config whose backbone already is a
  ResNet-18 keeps it (e.g. the half-width one of
  ``configs/sgnet/sgnet_r18_fpn_generated-ytvis.py``);
- train and test datasets read the generated video (the CocoVID json, every config's
  dataset: ours or mmdet's ``YouTubeVISDataset``) at its own size (the pipelines' ``Resize``
  scale is ``--size``);
- training: SGD (``--lr``, momentum 0.9, weight decay 1e-4; the config's gradient clipping),
  linear warm-up from lr/10 over the first 10% of ``--iters`` (at most 50; none below 20
  iterations), ``IterBasedTrainLoop``,
  batch size 1, no workers, no validation, no checkpoint, seeded (``--seed``);
- the trained model predicts the video with the config's own tracker, and with each tracker
  ``--trackers`` gives for that config (one more row each, same weights).

One row per config (``mmsgnet.evaluation.video_identity_row``): video AP (YouTube-VIS, our
``YTVISMetric``'s evaluator on that video), mean mask IoU (best predicted mask per GT object
and frame), objects with one id in all frames (an object's detection in a frame: the
highest-scoring predicted mask with IoU >= 0.5), number of tracks, ID switches and IDF1.
Progress goes to mmengine's logger; the table is printed, and ``--json`` writes it atomically.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

RESNET18_CHANNELS = (64, 128, 256, 512)
LOGGER_NAME = 'identity_table'


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Train video configs on one generated crossing video and tabulate video '
        'AP, mask IoU, objects kept with one id, tracks, ID switches and IDF1.')
    parser.add_argument('configs', nargs='+', metavar='CONFIG',
                        help="video configs (mmdet's as mmdet::path)")
    parser.add_argument('--work-dir', required=True,
                        help='folder for the video, the training logs and the outputs')
    parser.add_argument('--iters', type=int, default=300, help='training iterations (300)')
    parser.add_argument('--size', type=int, nargs=2, default=(640, 360), metavar=('W', 'H'),
                        help='frame size of the video and of the pipelines (640 360)')
    parser.add_argument('--num-frames', type=int, default=10, help='frames of the video (10)')
    parser.add_argument('--seed', type=int, default=0, help='video and training seed (0)')
    parser.add_argument('--lr', type=float, default=0.005, help='SGD learning rate (0.005)')
    parser.add_argument('--json', help='also write the rows to this JSON file')
    parser.add_argument('--trackers', metavar='JSON',
                        help='also predict each trained model with other trackers, one row '
                        'each: a JSON file {"<config file stem>": {"<row label>": {tracker '
                        'config}, ...}, ...} (no retraining)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides for every config, key=value (e.g. '
                        'model.detector.test_cfg.score_thr=0.1)')
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error(f'--iters must be at least 1, got {args.iters}')
    if args.num_frames < 5:
        parser.error(f'--num-frames must be at least 5 (the objects cross in the middle '
                     f'frame), got {args.num_frames}')
    if min(args.size) < 32:
        parser.error(f'--size {args.size[0]} {args.size[1]}: give at least 32 x 32')
    args.extra_trackers = load_trackers(parser, args.trackers, args.configs)
    return args


def config_stem(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def load_trackers(parser, path, configs) -> dict:
    """``--trackers``: {config stem: {row label: tracker config}}, checked."""
    if path is None:
        return {}
    try:
        with open(path) as f:
            trackers = json.load(f)
    except (OSError, ValueError) as err:
        parser.error(f'--trackers {path}: cannot read a JSON file ({err})')
    stems = {config_stem(c) for c in configs}
    if not isinstance(trackers, dict) or not all(
            isinstance(v, dict) and all(isinstance(t, dict) and 'type' in t
                                        for t in v.values()) for v in trackers.values()):
        parser.error(f'--trackers {path}: give {{"<config stem>": {{"<label>": {{"type": ...'
                     '}}}} ...}}')
    unknown = sorted(set(trackers) - stems)
    if unknown:
        parser.error(f'--trackers {path}: {unknown} name no config of this run (config file '
                     f'stems: {sorted(stems)})')
    return trackers


# ------------------------------------------------------------------ config
def use_resnet18(detector) -> None:
    """Replace the detector's backbone by a ResNet-18 from scratch (random init, trainable BN,
    nothing frozen) with the same ``out_indices``, and set the neck's ``in_channels`` to
    ResNet-18's channels of those stages; a ResNet-18 backbone is kept as it is (its width
    too). In place."""
    if detector.backbone.get('type') in ('ResNet', 'mmdet.ResNet') and \
            detector.backbone.get('depth') == 18:
        return
    out_indices = tuple(detector.backbone.get('out_indices', (0, 1, 2, 3)))
    detector.backbone = dict(type='ResNet', depth=18, num_stages=4, out_indices=out_indices,
                             frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True),
                             norm_eval=False, style='pytorch', init_cfg=None)
    neck = detector.get('neck')
    if neck is not None and 'in_channels' in neck:
        neck.in_channels = [RESNET18_CHANNELS[i] for i in out_indices]


def set_resize(pipeline: Sequence, scale) -> None:
    """Every ``Resize`` of a (track) pipeline, nested ones included, resizes to ``scale``."""
    for transform in pipeline:
        if transform.get('type') == 'Resize':
            transform['scale'] = tuple(scale)
        set_resize(transform.get('transforms', []), scale)


def table_config(config: str, data_root: str, args):
    """The config adapted for the table (see the module docstring)."""
    from mmsgnet.apis import load_vis_config, strip_pretrained
    cfg = load_vis_config(config, args.cfg_options)
    strip_pretrained(cfg.model)
    use_resnet18(cfg.model.detector)
    data = dict(data_root=data_root, ann_file='annotations/instances_cocovid.json',
                data_prefix=dict(img_path='JPEGImages/'))
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader].dataset.update(data)
        set_resize(cfg[loader].dataset.pipeline, args.size)
    cfg.train_dataloader.update(batch_size=1, num_workers=0, persistent_workers=False,
                                sampler=dict(type='InfiniteSampler', shuffle=True),
                                batch_sampler=None)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.optim_wrapper.optimizer = dict(type='SGD', lr=args.lr, momentum=0.9, weight_decay=1e-4)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters,
                         val_interval=args.iters + 1)
    warmup = min(50, args.iters // 10)  # LinearLR needs end >= 2 to change the lr at all
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                                end=warmup)] if warmup >= 2 else []
    cfg.auto_scale_lr = dict(enable=False)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'load_from'):
        cfg[key] = None
    cfg.resume = False
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(1, min(50, args.iters // 10)))
    cfg.log_processor = dict(by_epoch=False)
    cfg.get('visualizer', {}).pop('name', None)  # one global visualizer per run
    cfg.randomness = dict(seed=args.seed)
    cfg.work_dir = osp.join(args.work_dir, config_stem(config))
    return cfg


# ------------------------------------------------------------------ per config
def train_and_predict(cfg, trackers=None) -> tuple:
    """Train ``cfg`` and predict its test dataset's first (only) video with the config's
    tracker, then with each of ``trackers`` (label -> tracker config).

    Returns:
        tuple: {label (None: the config's tracker): per-frame ``EncodedFrame`` s} and the
        dataset's category id of each label (None: label + 1).
    """
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.runner import Runner

    from mmdet.registry import DATASETS, MODELS
    from mmsgnet.evaluation import encode_frame
    test_dataset = cfg.test_dataloader.dataset.copy()
    for key in ('test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model.eval()
    dataset = DATASETS.build(test_dataset)
    predictions = {}
    for label, tracker in {None: None, **(trackers or {})}.items():
        if tracker is not None:
            model.tracker = MODELS.build(tracker)
        with torch.no_grad():
            video = model.test_step(pseudo_collate([dataset[0]]))[0]
        predictions[label] = [encode_frame(frame) for frame in video]
    return predictions, getattr(dataset, 'cat_ids', None)


def identity_rows(args) -> List[dict]:
    """Generate the video, then train, predict and measure each config."""
    from mmengine.logging import MMLogger

    from mmsgnet.datasets import generate_youtube_vis
    from mmsgnet.datasets.validation import video_name
    from mmsgnet.evaluation import load_gt_video, video_identity_row
    logger = MMLogger.get_instance(LOGGER_NAME) if MMLogger.check_instance_created(
        LOGGER_NAME) else MMLogger.get_instance(LOGGER_NAME, log_level='INFO')
    data_root = osp.join(osp.abspath(args.work_dir), 'video') + '/'
    cfgs = [table_config(config, data_root, args) for config in args.configs]  # fail early
    width, height = args.size
    paths = generate_youtube_vis(data_root, num_videos=1, num_frames=args.num_frames,
                                 image_size=(width, height), seed=args.seed, max_objects=3,
                                 motion='crossing')
    with open(paths['ytvis']) as f:
        name = video_name(json.load(f)['videos'][0])
    gt = load_gt_video(paths['ytvis'], name, args.num_frames, (height, width))
    logger.info(f'crossing video {data_root}JPEGImages/{name}: {args.num_frames} frames, '
                f'{width}x{height}, {len(gt.tracks)} objects')
    rows = []
    for config, cfg in zip(args.configs, cfgs):
        logger.info(f'{config}: training {args.iters} iterations (ResNet-18 from scratch), '
                    f'work dir {cfg.work_dir}')
        predictions, cat_ids = train_and_predict(
            cfg, args.extra_trackers.get(config_stem(config)))
        for label, frames in predictions.items():
            row = dict(config=config, **video_identity_row(gt, frames, cat_ids))
            if label is not None:
                row['tracker'] = label
            logger.info(f'{config}: {format_row(row)}')
            rows.append(row)
    return rows


# ------------------------------------------------------------------ output
COLUMNS = ('config', 'video AP', 'mask IoU', 'objects with one id', 'tracks', 'IDSW', 'IDF1')


def format_row(row: dict) -> str:
    name = osp.basename(row['config']) + (f" + {row['tracker']}" if 'tracker' in row else '')
    return (f"| {name} | {100 * row['AP']:.1f} | {row['mask_iou']:.3f} "
            f"| {row['one_id_objects']} of {row['num_objects']} | {row['num_tracks']} "
            f"| {row['IDSW']} | {row['IDF1']:.3f} |")


def format_table(rows: Sequence[dict], args) -> str:
    lines = [f'Crossing video, {args.num_frames} frames, {args.size[0]}x{args.size[1]}, seed '
             f'{args.seed}; ResNet-18 from scratch, {args.iters} iterations, SGD lr {args.lr:g}',
             '| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    return '\n'.join(lines + [format_row(row) for row in rows])


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    from mmsgnet.utils.errors import UserError
    try:
        rows = identity_rows(args)
    except UserError as err:
        raise SystemExit(f'error: {err}')
    print(format_table(rows, args))
    if args.json:
        from mmsgnet.utils.atomic import write_atomically
        document = dict(video=dict(num_frames=args.num_frames, size=list(args.size),
                                   seed=args.seed, motion='crossing', max_objects=3),
                        iters=args.iters, lr=args.lr, rows=rows)
        write_atomically(args.json, lambda f: json.dump(document, f, indent=2), mode='w')
    return rows


if __name__ == '__main__':
    main()
