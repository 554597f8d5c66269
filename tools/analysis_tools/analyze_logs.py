"""mmdet's `tools/analysis_tools/analyze_logs.py` with the mmsgnet plugin registered.

Same arguments as mmdet's script; run `python tools/analysis_tools/analyze_logs.py --help`.
Our training logs are the ``vis_data/scalars.json`` of a run's work dir, e.g.::

    python tools/analysis_tools/analyze_logs.py plot_curve \
        work_dirs/small/<timestamp>/vis_data/scalars.json --keys loss loss_mask --out loss.png

mmdet's script imports ``seaborn`` only for ``sns.set_style(--style)``; seaborn is not a
dependency of mmdet (nor installed with it), so without it the wrapper gives the script a
stand-in whose ``set_style`` does nothing (matplotlib's default style is used). And
``plot_curve`` takes every log line with a ``step`` as a point of each ``--keys`` metric, while
mmengine also logs lines without them (``{"data_time": ..., "time": ..., "step": 0}`` after
training), which fails with "x and y must have same first dimension": the wrapper plots from
copies of the logs that keep the lines having every key (legend: the original file names).
"""
import atexit
import importlib.util
import json
import os.path as osp
import shutil
import sys
import tempfile
import types

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmsgnet.utils.tools import run_mmdet_tool  # noqa: E402


def _options(argv, flag):
    """The values after ``flag`` up to the next option."""
    if flag not in argv:
        return []
    values, i = [], argv.index(flag) + 1
    while i < len(argv) and not argv[i].startswith('--'):
        values.append(argv[i])
        i += 1
    return values


def _lines_with_the_keys(argv):
    """Replace the logs given to ``plot_curve`` by copies that keep the lines with every
    ``--keys`` metric (and give the legend the original names)."""
    keys = _options(argv, '--keys')
    if 'plot_curve' not in argv or not keys:
        return
    folder = tempfile.mkdtemp(prefix='analyze_logs.')
    atexit.register(shutil.rmtree, folder, True)
    first = argv.index('plot_curve') + 1
    logs = _options(['--'] + argv[first:], '--')
    for index, log in enumerate(logs):
        with open(log) as f:
            lines = [line for line in f if line.strip()
                     and all(key in json.loads(line) for key in keys)]
        copy = osp.join(folder, f'{index}.json')
        with open(copy, 'w') as f:
            f.writelines(lines)
        argv[first + index] = copy
    if '--legend' not in argv:
        argv += ['--legend'] + [f'{log}_{key}' for log in logs for key in keys]


def main():
    _lines_with_the_keys(sys.argv)
    if importlib.util.find_spec('seaborn') is None:
        sys.modules['seaborn'] = types.SimpleNamespace(set_style=lambda style=None: None)
    run_mmdet_tool('analysis_tools/analyze_logs.py')


if __name__ == '__main__':
    main()
