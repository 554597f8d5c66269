"""Inference speed of one or two configs, measured in the same run (mmdet's protocol).

    python tools/benchmark.py CONFIG [--compare CONFIG2 [CONFIG3 ...]] [--device cpu|cuda]
        [--checkpoint CKPT] [--num-images 20] [--num-warmup 5] [--image IMG]
        [--num-dets 1 10 50 100] [--size W H] [--json OUT] [--profile] [--plot OUT.png]

Image configs are timed per image; video (VIS) configs per frame: a generated video of
``--num-frames`` frames is predicted ``--num-images`` times after ``--num-warmup`` warm-up
videos, and the time per frame is the video time / frames. ``--num-dets`` pins the number of
detections per image / frame (score threshold 0, no suppression, ``max_per_img`` = N) to
measure how time grows with instances; one row per N. ``--plot OUT.png`` draws the median
time per image / frame against the detections per image / frame, one curve per config (the
JSON has the same numbers).

Protocol (as mmdet's ``benchmark.py --task inference``): batch 1; the first ``--num-warmup``
iterations are excluded; each timed iteration is one ``model.test_step`` (data preprocessing,
forward and post-processing, masks pasted at the original size) between synchronised timers
on CUDA. Input: ``--image`` (or a generated textured image) run through each config's own test
pipeline, so each model sees its own test resolution. Models have random weights unless
``--checkpoint`` is given (a random model's post-processing keeps few detections; pass a
trained checkpoint for representative numbers, or compare configs with equal settings).
mmdet configs can be named with the ``mmdet::`` prefix, e.g.
``mmdet::yolact/yolact_r50_1xb8-55e_coco.py``.

``--profile`` adds, per config, where the time goes: after the timed iterations the model runs
``--num-images`` more iterations with timers around the forward of each component (data
preprocessor, backbone, neck, each head), each head's ``predict_by_feat`` (post-processing:
box decoding, NMS and, for mask heads, mask assembly and pasting), each head's ``predict``
(what its forward and ``predict_by_feat`` leave: e.g. all of a two-stage RoI head, whose
``predict`` calls its sub-modules, not its forward) and the tracker's ``track`` (VIS
configs). Times are exclusive (a component nested in another is subtracted from it), per
image / frame, medians over the iterations; ``other`` is the rest of ``test_step``; modules
that never run in inference (losses) are left out. Printed
as a table and stored as ``profile`` in each result of the JSON.
"""
import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Inference speed benchmark (mmdet protocol)')
    parser.add_argument('config', help='config to time')
    parser.add_argument('--compare', nargs='+', metavar='CONFIG',
                        help='other configs timed in the same run (ratio of CONFIG to each)')
    parser.add_argument('--checkpoint', help='weights for CONFIG (random init otherwise)')
    parser.add_argument('--compare-checkpoint', nargs='+', metavar='CKPT',
                        help='weights for the --compare configs, in their order')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--num-images', type=int, default=20, help='timed iterations')
    parser.add_argument('--num-warmup', type=int, default=5, help='excluded iterations')
    parser.add_argument('--image', help='input image (default: a generated 640x480 image)')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--num-dets', type=int, nargs='+',
                        help='pin the detections per image/frame to each of these numbers')
    parser.add_argument('--num-frames', type=int, default=8, help='frames of the video')
    parser.add_argument('--size', type=int, nargs=2, default=(640, 480), metavar=('W', 'H'),
                        help='size of the generated input image / video frames')
    parser.add_argument('--json', help='also write the figures to this JSON file')
    parser.add_argument('--profile', action='store_true',
                        help='also time each component (backbone, neck, heads, '
                             'post-processing, tracker) per image / frame')
    parser.add_argument('--plot', help='also plot time per image/frame against detections '
                        '(one curve per config) to this image file (.png, .pdf, .svg)')
    args = parser.parse_args(argv)
    if args.num_images < 1 or args.num_warmup < 0:
        parser.error('--num-images must be >= 1 and --num-warmup >= 0')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda asked for, but torch sees no CUDA device')
    check_counts(parser, args)
    check_plot(parser, args)
    return args


PLOT_FORMATS = ('.png', '.pdf', '.svg', '.jpg')


def check_plot(parser, args):
    """Refuse a ``--plot`` path matplotlib cannot write, before any timing."""
    if args.plot is None:
        return
    if osp.splitext(args.plot)[1].lower() not in PLOT_FORMATS:
        parser.error(f'--plot {args.plot}: use one of {", ".join(PLOT_FORMATS)}')
    if not osp.isdir(osp.dirname(osp.abspath(args.plot))):
        parser.error(f'--plot {args.plot}: the folder does not exist; create it first')


def check_counts(parser, args):
    """Refuse counts that cannot be measured, naming the flag."""
    if args.num_frames < 1:
        parser.error(f'--num-frames must be >= 1 (frames of the generated video), got '
                     f'{args.num_frames}')
    bad = [n for n in args.num_dets or [] if n < 1]
    if bad:
        parser.error(f'--num-dets must be >= 1 (detections pinned per image/frame), got '
                     f"{' '.join(map(str, bad))}")


def check_image(path):
    """Refuse an ``--image`` that is missing or that OpenCV cannot decode."""
    import cv2
    if not osp.isfile(path):
        raise SystemExit(f'error: --image {path} does not exist; pass an image file or leave '
                         '--image out for a generated image')
    if cv2.imread(path) is None:
        raise SystemExit(f'error: --image {path} cannot be decoded as an image; pass a '
                         'jpg/png file or leave --image out for a generated image')


def note_fewer_detections(figures, num_dets):
    """Say so when the model gave fewer detections than ``--num-dets`` pinned (it has fewer
    candidates at this input size): the row then measures the detections it gave."""
    if num_dets is None or figures['mean_detections'] >= num_dets:
        return None
    note = (f"--num-dets {num_dets}: {osp.basename(figures['config'])} gave only "
            f"{figures['mean_detections']:g} detections per {figures['unit']} on average (it "
            'has fewer candidates at this input size); this row measures those. Use a '
            'larger --size or a smaller --num-dets')
    figures['note'] = note
    print(f'warning: {note}', file=sys.stderr)
    return note


def resolve_config(config):
    """``mmdet::path`` -> the config file shipped in mmdet's wheel."""
    from mmsgnet.apis import config_path
    path = config_path(config)
    if not osp.isfile(path):
        raise SystemExit(f'error: config not found: {config}')
    return path


def pin_detections(node, num, key=None):
    """Make every (non-RPN) test config keep exactly ``num`` detections: score threshold 0,
    no suppression, ``max_per_img = num``."""
    if isinstance(node, dict):
        if key in ('rpn', 'rpn_proposal'):
            return
        if 'max_per_img' in node:
            node['max_per_img'] = num
            if 'score_thr' in node:
                node['score_thr'] = 0.0
            if isinstance(node.get('nms'), dict):
                node['nms']['iou_threshold'] = 1.0
            if isinstance(node.get('fast_nms'), dict):
                node['fast_nms']['iou_thr'] = 1.0
                node['fast_nms']['top_k'] = max(node['fast_nms'].get('top_k', 0), num)
            if 'nms_pre' in node:
                node['nms_pre'] = max(node['nms_pre'], num)
        for k, value in node.items():
            pin_detections(value, num, k)
    elif isinstance(node, list):
        for value in node:
            pin_detections(value, num, key)


def build_model(config, checkpoint, device, num_dets=None):
    """Model (eval mode), its test pipeline (annotation loading removed) and whether it is
    a video model."""
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from mmdet.registry import MODELS
    from mmsgnet.apis import strip_pretrained
    from mmsgnet.datasets import inference_pipeline  # (registers the plugin)
    cfg = Config.fromfile(resolve_config(config))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if checkpoint is None:
        strip_pretrained(cfg.model)
    if num_dets is not None:
        pin_detections(cfg.model, num_dets)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    else:
        model.init_weights()
    is_video = 'tracker' in cfg.model
    pipeline = inference_pipeline(cfg.test_dataloader.dataset.pipeline)
    return model.to(device).eval(), Compose(pipeline), is_video


def default_frames(folder, size, num_frames):
    """A generated video (textured moving shapes) as JPEG frames; returns their paths."""
    import cv2

    from mmsgnet.datasets.synthetic import generate_youtube_vis
    generate_youtube_vis(folder, num_videos=1, num_frames=num_frames, image_size=tuple(size),
                         seed=0, max_objects=4)
    frame_dir = osp.join(folder, 'JPEGImages', 'video_0000')
    frames = [osp.join(frame_dir, f'{i:05d}.jpg') for i in range(num_frames)]
    assert all(cv2.imread(f) is not None for f in frames)
    return frames


def make_inputs(pipeline, is_video, frames):
    """One batch: the first frame as an image, or the whole video."""
    from mmengine.dataset import pseudo_collate
    if not is_video:
        return pseudo_collate([pipeline(dict(img_path=frames[0], img_id=0))])
    n = len(frames)
    return pseudo_collate([pipeline(dict(
        img_path=frames, img_id=list(range(n)), frame_id=list(range(n)),
        video_id=[0] * n, video_length=[n] * n, ori_video_length=[n] * n))])


def time_model(model, data, frames_per_item, device, num_images, num_warmup):
    """Per image / frame seconds of ``test_step``, warm-up excluded."""
    cuda = str(device).startswith('cuda')
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times, num_dets = [], []
    with torch.no_grad():
        for i in range(num_warmup + num_images):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            result = model.test_step(data)
            if cuda:
                torch.cuda.synchronize()
            if i >= num_warmup:
                times.append((time.perf_counter() - start) / frames_per_item)
                frames = result[0] if hasattr(result[0], 'video_data_samples') else result
                num_dets += [len(f.pred_instances) for f in frames]
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _peak_rss_mib()
    return dict(median_ms=1000 * statistics.median(times), mean_ms=1000 * statistics.mean(times),
                fps=len(times) / sum(times), peak_memory_mib=peak,
                mean_detections=float(np.mean(num_dets)), iterations=len(times))


class ComponentTimer:
    """Exclusive wall time of named regions (module forwards and wrapped methods) of a model.

    Regions may nest (a mask head's forward inside its ``predict_by_feat``, a track head inside
    the tracker): a region's time excludes the regions timed inside it, so the parts add up to
    the total. On CUDA every boundary synchronises.
    """

    def __init__(self, cuda: bool):
        self.cuda = cuda
        self.stack = []  # [name, start, time of nested regions]
        self.totals = {}
        self.undo = []

    def _clock(self):
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def enter(self, name):
        self.stack.append([name, self._clock(), 0.0])

    def leave(self):
        name, start, nested = self.stack.pop()
        elapsed = self._clock() - start
        self.totals[name] = self.totals.get(name, 0.0) + elapsed - nested
        if self.stack:
            self.stack[-1][2] += elapsed

    def time_module(self, name, module):
        pre = module.register_forward_pre_hook(lambda *_: self.enter(name))
        post = module.register_forward_hook(lambda *_: self.leave())
        self.undo += [pre.remove, post.remove]

    def time_method(self, name, obj, method):
        original = getattr(obj, method)

        def timed(*args, **kwargs):
            self.enter(name)
            try:
                return original(*args, **kwargs)
            finally:
                self.leave()

        setattr(obj, method, timed)  # an instance attribute shadows the class's method
        self.undo.append(lambda: delattr(obj, method))

    def remove(self):
        for undo in self.undo:
            undo()
        self.undo = []


def profile_components(model):
    """(name, object, method or None) of the parts of ``model`` that ``--profile`` times:
    the data preprocessor, the forward of each child module of the model (of its
    ``detector`` for VIS models), each head's ``predict`` and ``predict_by_feat`` and the
    tracker's ``track``."""
    parts = [('data_preprocessor', model.data_preprocessor, None)]
    holders = [('', model)]
    if isinstance(getattr(model, 'detector', None), torch.nn.Module):
        holders.append(('detector.', model.detector))
    for prefix, holder in holders:
        for name, child in holder.named_children():
            if name in ('data_preprocessor', 'detector'):
                continue
            parts.append((prefix + name, child, None))
            for method in ('predict', 'predict_by_feat'):
                if callable(getattr(child, method, None)):
                    parts.append((f'{prefix}{name}.{method}', child, method))
    tracker = getattr(model, 'tracker', None)
    if tracker is not None and hasattr(tracker, 'track'):
        parts.append(('tracker.track', tracker, 'track'))
    return parts


def profile_model(model, data, frames_per_item, device, num_images):
    """Median exclusive milliseconds per image / frame of each component (and ``other``,
    the rest of ``test_step``) over ``num_images`` iterations."""
    timer = ComponentTimer(str(device).startswith('cuda'))
    names = []
    for name, obj, method in profile_components(model):
        if method is None:
            timer.time_module(name, obj)
        else:
            timer.time_method(name, obj, method)
        names.append(name)
    per_iter = {name: [] for name in names + ['other', 'total']}
    seen = {'other', 'total'}
    try:
        with torch.no_grad():
            for _ in range(num_images):
                timer.totals = {}
                timer.enter('other')
                model.test_step(data)
                timer.leave()
                seen.update(timer.totals)
                total = sum(timer.totals.values())
                for name in names + ['other']:
                    per_iter[name].append(timer.totals.get(name, 0.0) / frames_per_item)
                per_iter['total'].append(total / frames_per_item)
    finally:
        timer.remove()
    # components that never ran in inference (e.g. loss modules) are left out
    return {name: 1000 * statistics.median(v) for name, v in per_iter.items() if name in seen}


def print_profile(results):
    """One table per profiled result: component, ms per image / frame, share of the total."""
    for r in results:
        if 'profile' not in r:
            continue
        pinned = '' if r['pinned_detections'] is None else \
            f", {r['pinned_detections']} detections"
        prof = r['profile']
        print(f"profile of {osp.basename(r['config'])}{pinned} (exclusive ms per {r['unit']}, "
              'median):')
        for name, ms in prof.items():
            share = 100 * ms / prof['total'] if prof['total'] > 0 else 0.0
            print(f'  {name:<48} {ms:>9.1f} {share:>6.1f}%')


def _peak_rss_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.image:
        check_image(args.image)
    with tempfile.TemporaryDirectory() as tmp:
        frames = default_frames(tmp, args.size, args.num_frames)
        if args.image:
            frames = [args.image] * args.num_frames
        runs = [(args.config, args.checkpoint)]
        compare_ckpts = list(args.compare_checkpoint or [])
        for i, config in enumerate(args.compare or []):
            runs.append((config, compare_ckpts[i] if i < len(compare_ckpts) else None))
        report = dict(device=str(args.device), threads=torch.get_num_threads(), results=[])
        for num_dets in (args.num_dets or [None]):
            for config, ckpt in runs:
                model, pipeline, is_video = build_model(config, ckpt, args.device, num_dets)
                data = make_inputs(pipeline, is_video, frames)
                figures = time_model(model, data, len(frames) if is_video else 1, args.device,
                                     args.num_images, args.num_warmup)
                figures.update(config=config, pinned_detections=num_dets,
                               unit='frame' if is_video else 'image')
                if args.profile:
                    figures['profile'] = profile_model(
                        model, data, len(frames) if is_video else 1, args.device,
                        args.num_images)
                note_fewer_detections(figures, num_dets)
                report['results'].append(figures)
                del model
    print(f"device {report['device']}, {report['threads']} threads, batch 1, "
          f'{args.num_warmup} warm-up iterations excluded')
    print(f"{'config':<58} {'unit':>5} {'median ms':>10} {'mean ms':>9} {'FPS':>7} "
          f"{'dets':>6} {'peak MiB':>9}")
    for r in report['results']:
        print(f"{osp.basename(r['config']):<58} {r['unit']:>5} {r['median_ms']:>10.1f} "
              f"{r['mean_ms']:>9.1f} {r['fps']:>7.2f} {r['mean_detections']:>6.1f} "
              f"{r['peak_memory_mib']:>9.0f}")
    if args.profile:
        print_profile(report['results'])
    if args.compare:
        report['ratios'] = []
        runs_per_count = 1 + len(args.compare)
        results = report['results']
        for start in range(0, len(results), runs_per_count):
            first = results[start]
            for k, other in enumerate(results[start + 1:start + runs_per_count]):
                ratio = first['median_ms'] / other['median_ms']
                report['ratios'].append(dict(pinned_detections=first['pinned_detections'],
                                             config=other['config'], ratio=ratio))
                pinned = '' if first['pinned_detections'] is None else \
                    f" at {first['pinned_detections']} detections"
                which = 'second' if len(args.compare) == 1 else \
                    osp.basename(other['config'])
                print(f'ratio (first / {which}, median time){pinned}: {ratio:.3f}')
    if args.plot:
        save_plot(report, args.plot)
        print(f'plot written to {args.plot}')
    if args.json:
        from mmsgnet.datasets import dump_json_atomic
        dump_json_atomic(report, args.json)
        print(f'figures written to {args.json}')
    return report


def plot_curves(report):
    """Curves of ``report`` (one per config): detections per image/frame -> median ms,
    sorted by detections. Returns ``{config: (detections, median_ms, unit)}``."""
    curves = {}
    for r in report['results']:
        curves.setdefault(r['config'], []).append((r['mean_detections'], r['median_ms'],
                                                   r['unit']))
    return {config: ([p[0] for p in sorted(points)], [p[1] for p in sorted(points)],
                     points[0][2]) for config, points in curves.items()}


def plot_figure(report):
    """A matplotlib figure of :func:`plot_curves`: one line with markers per config."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib.figure import Figure
    figure = Figure(figsize=(6.4, 4.2), dpi=150)
    axes = figure.add_subplot()
    units = set()
    for config, (dets, ms, unit) in plot_curves(report).items():
        axes.plot(dets, ms, marker='o', label=osp.splitext(osp.basename(config))[0])
        units.add(unit)
    unit = units.pop() if len(units) == 1 else 'image / frame'
    axes.set_xlabel(f'detections per {unit}')
    axes.set_ylabel(f'median time per {unit} (ms)')
    axes.set_title(f"{report['device']}, {report['threads']} threads, batch 1")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize='small')
    figure.tight_layout()
    return figure


def save_plot(report, path):
    """Write :func:`plot_figure` to ``path`` atomically (temporary file, then rename); the
    format follows the extension."""
    from mmsgnet.utils.atomic import write_atomically
    ext = osp.splitext(path)[1] or '.png'
    return write_atomically(path, lambda f: plot_figure(report).savefig(f, format=ext[1:]))


if __name__ == '__main__':
    main()
