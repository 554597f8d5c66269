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


def _launcher(argv) -> str:
    for i, arg in enumerate(argv):
        if arg == '--launcher' and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith('--launcher='):
            return arg.split('=', 1)[1]
    return 'none'


def cpu_distributed_args(argv) -> list:
    """Make a distributed launch (``--launcher pytorch|slurm|mpi``) work on a machine
    without CUDA, where mmengine would call ``torch.cuda.set_device`` and wrap the model with
    GPU ``device_ids``: the set_device call becomes a no-op, and the returned extra arguments
    select the gloo backend and a CPU ``MMDistributedDataParallel`` (``device_ids=None``).
    With CUDA, or without a launcher, nothing changes."""
    import torch
    if _launcher(argv) == 'none' or torch.cuda.is_available():
        return []
    torch.cuda.set_device = lambda device: None
    print('mmsgnet: no CUDA device: distributed training on CPU with the gloo backend',
          file=sys.stderr)
    return ['--cfg-options', 'env_cfg.dist_cfg.backend=gloo',
            'model_wrapper_cfg.type=MMDistributedDataParallel',
            'model_wrapper_cfg.device_ids=None']


def run_mmdet_tool(name: str) -> None:
    """Execute mmdet's ``tools/<name>`` as ``__main__`` with the current ``sys.argv``
    (plus :func:`cpu_distributed_args`), and destroy the process group it created, if any."""
    import mmsgnet  # noqa: F401  (registers the plugin)
    path = mmdet_tool_path(name)
    sys.argv += cpu_distributed_args(sys.argv)
    sys.argv[0] = path
    try:
        runpy.run_path(path, run_name='__main__')
    finally:
        _destroy_process_group()


def _destroy_process_group() -> None:
    """Tear the default process group down while the interpreter is still alive.

    mmdet's scripts never call ``destroy_process_group``; with gloo its C++ worker threads
    then outlive Python finalization and the process can die with SIGABRT ("terminate called
    without an active exception") after a successful run."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
