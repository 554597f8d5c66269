"""Run mmdet's own command-line tools with the mmsgnet plugin registered.

mmdet 3.3.0 ships its scripts inside the wheel (``mmdet/.mim/tools``). Our ``tools/*.py``
are thin wrappers that import :mod:`mmsgnet` (which registers the plugin and makes
mmengine checkpoints loadable under torch >= 2.6) and then execute mmdet's script
unchanged, so behaviour and command-line flags are exactly mmdet's.
"""
import os.path as osp
import runpy
import sys


def mmdet_tool_path(name: str) -> str:
    """Return the path of mmdet's shipped tool script ``name`` (e.g. ``'train.py'``)."""
    import mmdet
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'mmdet {mmdet.__version__} does not ship tools/{name} at {path}. '
            'Reinstall mmdet 3.3.0 from its wheel (pip install --force-reinstall mmdet==3.3.0).')
    return path


def run_mmdet_tool(name: str) -> None:
    """Execute mmdet's ``tools/<name>`` as ``__main__`` with the current ``sys.argv``."""
    import mmsgnet  # noqa: F401  (registers the plugin)
    path = mmdet_tool_path(name)
    sys.argv[0] = path
    runpy.run_path(path, run_name='__main__')
