"""Parameters and FLOPs of one or more configs at a fixed input size, with mmengine's
complexity counter (``mmengine.analysis.get_model_complexity_info``), on CPU, random weights.

    python tools/analysis_tools/get_model_complexity.py CONFIG [CONFIG ...] \
        [--size H W] [--json OUT]

Unlike mmdet's ``tools/analysis_tools/get_flops.py`` it needs no dataset: it runs the model's
tensor-mode forward (``model(inputs)``, i.e. ``_forward``) on one random image of the size
given, or else of the config's test ``Resize`` scale (an exact size only without
``keep_ratio``). The model's ``_forward`` must need no ground truth: FASSST's does (the IAM and
the masks of all n cells: the worst case of inference). mmengine counts one fused
multiply-add as one FLOP (fvcore's convention) and skips ops it does not know (mmcv's
RoIAlign, interpolation); the table says so.
"""
import argparse
import json
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Parameters / FLOPs of configs (mmengine)')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size (default: each config\'s fixed test Resize scale)')
    parser.add_argument('--json', help='also write the table to this JSON file')
    return parser.parse_args(argv)


def fixed_input_size(cfg) -> tuple:
    """(H, W) of the config's test ``Resize`` when it gives an exact size."""
    for t in cfg.test_dataloader.dataset.get('pipeline', []):
        if t.get('type') == 'Resize' and not t.get('keep_ratio', False):
            width, height = t['scale']
            return int(height), int(width)
    raise ValueError('the config\'s test pipeline has no fixed-size Resize (keep_ratio=False): '
                     'give the input size with --size H W')


def model_complexity(config: str, size=None) -> dict:
    """``dict(config, input_shape, params, flops)`` of one config (random weights)."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmsgnet  # noqa: F401
    from mmdet.registry import MODELS
    if not osp.isfile(config):
        raise FileNotFoundError(f'config not found: {config}')
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    height, width = size if size else fixed_input_size(cfg)
    model = MODELS.build(cfg.model).eval()  # built, not initialised: nothing downloaded
    inputs = torch.rand(1, 3, height, width)
    with torch.no_grad():
        info = get_model_complexity_info(model, inputs=(inputs, ), show_table=False,
                                         show_arch=False)
    return dict(config=config, input_shape=[height, width], params=int(info['params']),
                flops=int(info['flops']))


def format_table(rows) -> str:
    lines = ['| config | input (H x W) | params (M) | GFLOPs (mmengine) |',
             '|---|---|---|---|']
    for r in rows:
        lines.append(f"| {osp.basename(r['config'])} | {r['input_shape'][0]} x "
                     f"{r['input_shape'][1]} | {r['params'] / 1e6:.2f} | {r['flops'] / 1e9:.2f} |")
    lines.append('FLOPs: one multiply-add = 1 FLOP (mmengine / fvcore); RoIAlign, interpolation '
                 'and NMS are not counted.')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    from tqdm import tqdm
    rows = []
    for config in tqdm(args.configs, desc='configs', disable=len(args.configs) < 2):
        try:
            rows.append(model_complexity(config, args.size))
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(f'error: {config}: {err}')
    print(format_table(rows))
    if args.json:
        from mmsgnet.utils.atomic import write_atomically
        write_atomically(args.json, lambda f: json.dump(rows, f, indent=2), mode='w')
    return rows


if __name__ == '__main__':
    main()
