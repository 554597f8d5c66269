"""Time the project's deformable conv (PyTorch path) against mmcv's op, layer alone.

At the FPN sizes P3-P7 of an input (default 640 x 384: 48x80 ... 3x5), 3x3 kernel, 256 ->
256 channels, 4 deform groups (SipMask / SG-Net's alignment), random offsets. Both
implementations run on the same inputs in the same process, interleaved iteration by
iteration (the machine may be shared), forward alone (no grad) and forward + backward
(gradients of input, offsets and weight). Prints medians and the ratio mmcv / ours, and the
largest output difference between the two.

With ``--train CONFIG [CONFIG ...]`` it times training instead: per config, two models with
the same initial weights, one with ``deform_impl='mmcv'`` (and ``DCNFast`` backbone blocks
with ``impl='mmcv'``) and one with ``'torch'``, each with its own optimizer, take
``train_step`` s on the same batches of the config's train dataloader, alternately; the
median seconds per iteration (warm-up excluded) and the ratio mmcv / torch are printed. Without
``--data-root`` a small YouTube-VIS-format (video configs) or COCO-format (image configs)
dataset is generated in a temporary folder at the config's input size.

Example::

    python tools/analysis_tools/benchmark_deform_conv.py --threads 2
    python tools/analysis_tools/benchmark_deform_conv.py --device cuda --json dcn.json
    python tools/analysis_tools/benchmark_deform_conv.py --threads 2 --repeats 20 \
        --train configs/sgnet/sgnet_r18_fpn_generated-ytvis.py
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

STRIDES = (8, 16, 32, 64, 128)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Deformable conv: ours vs mmcv')
    parser.add_argument('--size', type=int, nargs=2, default=(640, 384), metavar=('W', 'H'),
                        help='input image size; the maps are its P3-P7 levels')
    parser.add_argument('--levels', nargs='+', default=['P3', 'P4', 'P5', 'P6', 'P7'],
                        choices=['P3', 'P4', 'P5', 'P6', 'P7'])
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--deform-groups', type=int, default=4)
    parser.add_argument('--offset-std', type=float, default=2.0,
                        help='std of the random offsets, pixels')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--ours', choices=['torch', 'auto'], default='torch',
                        help="our implementation: 'torch' (the PyTorch path, also on CUDA) "
                        "or 'auto' (what the layer runs by default on --device)")
    parser.add_argument('--threads', type=int, default=None, help='CPU threads for torch')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', metavar='OUT', help='write the figures to this JSON file')
    parser.add_argument('--train', nargs='+', metavar='CONFIG',
                        help='time train_step of these configs with each implementation')
    parser.add_argument('--data-root', help='--train: the configs\' dataset root (default: '
                        'a generated dataset in a temporary folder)')
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda asked for, but torch sees no CUDA device')
    if args.repeats < 1 or args.warmup < 0:
        parser.error('--repeats must be >= 1 and --warmup >= 0')
    return args


def _timed(fn, cuda):
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def bench_level(layers, x, offset, warmup, repeats, cuda):
    """Median ms of forward and of forward + backward per layer, interleaved; and the
    largest output difference."""
    times = {name: dict(fwd=[], fwd_bwd=[]) for name in layers}
    outs = {}
    for i in range(warmup + repeats):
        for name, layer in layers.items():
            with torch.no_grad():
                t_fwd, outs[name] = _timed(lambda: layer(x, offset), cuda)
            xg = x.detach().requires_grad_()
            og = offset.detach().requires_grad_()
            layer.zero_grad(set_to_none=True)

            def step():
                layer(xg, og).square().mean().backward()

            t_all, _ = _timed(step, cuda)
            if i >= warmup:
                times[name]['fwd'].append(t_fwd)
                times[name]['fwd_bwd'].append(t_all)
    figures = {name: {k: 1000 * statistics.median(v) for k, v in t.items()}
               for name, t in times.items()}
    a, b = outs.values()
    figures['max_abs_diff'] = (a - b).abs().max().item()
    return figures


def set_deform_impl(node, impl):
    """Force ``impl`` on every deformable conv of a model config: the heads'
    ``deform_impl`` and ``DCNFast`` backbone blocks' ``impl``."""
    if isinstance(node, dict):
        if 'deform_impl' in node or node.get('type') in ('SGNetHead', 'SipMaskHead'):
            node['deform_impl'] = impl
        if isinstance(node.get('dcn'), dict) and node['dcn'].get('type') == 'DCNFast':
            node['dcn']['impl'] = impl
        for value in node.values():
            set_deform_impl(value, impl)
    elif isinstance(node, list):
        for value in node:
            set_deform_impl(value, impl)


def _generate_data(cfg, root):
    """A small generated dataset (8 videos / 16 images) in ``root`` for the config."""
    from mmsgnet.datasets.synthetic import generate_coco_instance, generate_youtube_vis
    size = (160, 128)
    for t in cfg.train_dataloader.dataset.pipeline:
        for tt in [t] + list(t.get('transforms', [])):
            if tt.get('type') == 'Resize' and isinstance(tt.get('scale'), (tuple, list)):
                size = tuple(tt['scale'])
    if 'tracker' in cfg.model:
        generate_youtube_vis(osp.join(root, 'train'), num_videos=8, num_frames=6,
                             image_size=size, seed=0, max_objects=3)
    else:
        generate_coco_instance(osp.join(root, 'train'), num_images=16, image_size=size,
                               seed=0)


def bench_train(config, args, data_root):
    """Median seconds per ``train_step`` with impl 'mmcv' and 'torch', interleaved."""
    import copy

    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    loader = iter(Runner.build_dataloader(cfg.train_dataloader, seed=args.seed))
    models, optims = {}, {}
    for impl in ('mmcv', 'torch'):
        model_cfg = copy.deepcopy(cfg.model)
        set_deform_impl(model_cfg, impl)
        torch.manual_seed(args.seed)
        models[impl] = MODELS.build(model_cfg)
        models[impl].init_weights()
        if impl == 'torch':
            models[impl].load_state_dict(models['mmcv'].state_dict())
        models[impl].train()
        optims[impl] = build_optim_wrapper(models[impl], cfg.optim_wrapper)
    times = {impl: [] for impl in models}
    for i in range(args.warmup + args.repeats):
        batch = next(loader)
        for impl, model in models.items():
            start = time.perf_counter()
            model.train_step(batch, optims[impl])
            if i >= args.warmup:
                times[impl].append(time.perf_counter() - start)
    fig = {impl: statistics.median(t) for impl, t in times.items()}
    fig.update(config=config, batch_size=cfg.train_dataloader.batch_size,
               ratio=fig['mmcv'] / fig['torch'])
    return fig


def main_train(args):
    import tempfile

    from mmengine.config import Config
    report = dict(threads=torch.get_num_threads(), train=[])
    print(f"train_step seconds per iteration, {report['threads']} threads, medians of "
          f'{args.repeats} ({args.warmup} warm-up), mmcv and torch interleaved')
    for config in args.train:
        with tempfile.TemporaryDirectory() as tmp:
            root = args.data_root
            if root is None:
                root = tmp + '/'
                _generate_data(Config.fromfile(config), root)
            fig = bench_train(config, args, root)
        report['train'].append(fig)
        print(f"{osp.basename(config):<52} mmcv {fig['mmcv']:.3f} s  torch {fig['torch']:.3f} s"
              f"  ratio {fig['ratio']:.2f}x (batch {fig['batch_size']})")
    return report


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import mmsgnet  # noqa: F401  (registers the plugin)
    if args.train:
        report = main_train(args)
        if args.json:
            from mmsgnet.datasets import dump_json_atomic
            dump_json_atomic(report, args.json)
        return report
    from mmsgnet.models.layers import DeformConv2dFast
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    cuda = device.type == 'cuda'
    c, g = args.channels, args.deform_groups
    ours = DeformConv2dFast(c, c, 3, padding=1, deform_groups=g, impl=args.ours).to(device)
    mmcv = DeformConv2dFast(c, c, 3, padding=1, deform_groups=g, impl='mmcv').to(device)
    mmcv.load_state_dict(ours.state_dict())
    layers = dict(ours=ours, mmcv=mmcv)
    report = dict(device=args.device, threads=torch.get_num_threads(), size=list(args.size),
                  channels=c, deform_groups=g, ours_impl=args.ours, levels=[])
    w, h = args.size
    print(f'deformable conv 3x3, {c} -> {c} channels, {g} deform groups, batch {args.batch}, '
          f'{args.device}, {report["threads"]} threads, medians of {args.repeats}')
    print(f"{'level':<5} {'H x W':>9} | {'fwd ours':>9} {'fwd mmcv':>9} {'ratio':>6} | "
          f"{'f+b ours':>9} {'f+b mmcv':>9} {'ratio':>6} | {'max diff':>8}")
    for level in args.levels:
        stride = STRIDES[int(level[1]) - 3]
        hh, ww = -(-h // stride), -(-w // stride)
        x = torch.randn(args.batch, c, hh, ww, device=device)
        offset = args.offset_std * torch.randn(args.batch, g * 18, hh, ww, device=device)
        fig = bench_level(layers, x, offset, args.warmup, args.repeats, cuda)
        fig.update(level=level, height=hh, width=ww,
                   fwd_ratio=fig['mmcv']['fwd'] / fig['ours']['fwd'],
                   fwd_bwd_ratio=fig['mmcv']['fwd_bwd'] / fig['ours']['fwd_bwd'])
        report['levels'].append(fig)
        print(f"{level:<5} {f'{hh} x {ww}':>9} | {fig['ours']['fwd']:>9.2f} "
              f"{fig['mmcv']['fwd']:>9.2f} {fig['fwd_ratio']:>5.2f}x | "
              f"{fig['ours']['fwd_bwd']:>9.2f} {fig['mmcv']['fwd_bwd']:>9.2f} "
              f"{fig['fwd_bwd_ratio']:>5.2f}x | {fig['max_abs_diff']:>8.1e}")
    print('times in ms; ratio = mmcv / ours (> 1: ours faster)')
    if args.json:
        from mmsgnet.datasets import dump_json_atomic
        dump_json_atomic(report, args.json)
        print(f'figures written to {args.json}')
    return report


if __name__ == '__main__':
    main()
