"""Inference speed of one or two configs, measured in the same run (mmdet's protocol).

    python tools/analysis_tools/benchmark.py CONFIG [--compare CONFIG2] [--device cpu|cuda]
        [--checkpoint CKPT] [--num-images 20] [--num-warmup 5] [--image IMG] [--json OUT]

Protocol (as mmdet's ``benchmark.py --task inference``): batch 1; the first ``--num-warmup``
iterations are excluded; each timed iteration is one ``model.test_step`` (data preprocessing,
forward and post-processing, masks pasted at the original size) between synchronised timers
on CUDA. Input: ``--image`` (or a generated textured image) run through each config's own test
pipeline, so each model sees its own test resolution. Models have random weights unless
``--checkpoint`` is given (a random model's post-processing keeps few detections; pass a
trained checkpoint for representative numbers, or compare configs with equal settings).
mmdet configs can be named with the ``mmdet::`` prefix, e.g.
``mmdet::yolact/yolact_r50_1xb8-55e_coco.py``.
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Inference speed benchmark (mmdet protocol)')
    parser.add_argument('config', help='config to time')
    parser.add_argument('--compare', help='a second config timed in the same run (ratio)')
    parser.add_argument('--checkpoint', help='weights for CONFIG (random init otherwise)')
    parser.add_argument('--compare-checkpoint', help='weights for --compare')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--num-images', type=int, default=20, help='timed iterations')
    parser.add_argument('--num-warmup', type=int, default=5, help='excluded iterations')
    parser.add_argument('--image', help='input image (default: a generated 640x480 image)')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--json', help='also write the figures to this JSON file')
    args = parser.parse_args(argv)
    if args.num_images < 1 or args.num_warmup < 0:
        parser.error('--num-images must be >= 1 and --num-warmup >= 0')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda asked for, but torch sees no CUDA device')
    return args


def build_model(config, checkpoint, device):
    """Model (eval mode) and its test pipeline (annotation loading removed)."""
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import mmsgnet  # noqa: F401
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if checkpoint is None:
        cfg.model.backbone.init_cfg = None  # random weights, nothing downloaded
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    else:
        model.init_weights()
    pipeline = [t for t in cfg.test_dataloader.dataset.pipeline
                if t['type'] not in ('LoadAnnotations', 'LoadTrackAnnotations')]
    return model.to(device).eval(), Compose(pipeline)


def default_image(path):
    from mmsgnet.datasets.synthetic_render import random_texture
    import cv2
    rng = np.random.default_rng(0)
    img = random_texture(rng, 480, 640)
    cv2.imwrite(path, np.ascontiguousarray(img))
    return path


def time_model(model, pipeline, image, device, num_images, num_warmup):
    """Per-iteration seconds of ``test_step`` on one image, warm-up excluded."""
    from mmengine.dataset import pseudo_collate
    data = pseudo_collate([pipeline(dict(img_path=image, img_id=0))])
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
                times.append(time.perf_counter() - start)
                num_dets.append(len(result[0].pred_instances))
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _peak_rss_mib()
    return dict(median_ms=1000 * statistics.median(times), mean_ms=1000 * statistics.mean(times),
                fps=len(times) / sum(times), peak_memory_mib=peak,
                mean_detections=float(np.mean(num_dets)), iterations=len(times))


def _peak_rss_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        image = args.image or default_image(osp.join(tmp, 'bench.jpg'))
        if not osp.isfile(image):
            raise SystemExit(f'error: image not found: {image}')
        runs = [(args.config, args.checkpoint)]
        if args.compare:
            runs.append((args.compare, args.compare_checkpoint))
        report = dict(device=str(args.device), threads=torch.get_num_threads(), results=[])
        for config, ckpt in runs:
            model, pipeline = build_model(config, ckpt, args.device)
            figures = time_model(model, pipeline, image, args.device, args.num_images,
                                 args.num_warmup)
            figures['config'] = config
            report['results'].append(figures)
            del model
    print(f"device {report['device']}, {report['threads']} threads, batch 1, "
          f'{args.num_warmup} warm-up iterations excluded')
    print(f"{'config':<60} {'median ms':>10} {'mean ms':>9} {'FPS':>7} {'dets':>6} {'peak MiB':>9}")
    for r in report['results']:
        print(f"{osp.basename(r['config']):<60} {r['median_ms']:>10.1f} {r['mean_ms']:>9.1f} "
              f"{r['fps']:>7.2f} {r['mean_detections']:>6.1f} {r['peak_memory_mib']:>9.0f}")
    if len(report['results']) == 2:
        a, b = report['results']
        report['ratio_median'] = a['median_ms'] / b['median_ms']
        print(f"ratio (first / second, median time): {report['ratio_median']:.3f}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    main()
