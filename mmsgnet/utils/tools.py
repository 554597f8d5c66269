"""Run mmdet's own command-line tools with the mmsgnet plugin registered.

mmdet 3.3.0 ships its scripts inside the wheel (``mmdet/.mim/tools``). Our ``tools/*.py``
are thin wrappers that import :mod:`mmsgnet` (which registers the plugin and makes
mmengine checkpoints loadable under torch >= 2.6) and then execute mmdet's script
unchanged, so behaviour and command-line flags are exactly mmdet's. A named error of
mmsgnet (bad data, settings or files) is printed last and once, without a traceback.
"""
import os
import os.path as osp
import runpy
import sys
import traceback


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


def _check_amp(argv) -> None:
    """``--amp`` needs an accelerator: mmengine's ``AmpOptimWrapper`` asserts on CPU."""
    import torch
    if '--amp' in argv and not torch.cuda.is_available():
        from .errors import UserError
        raise UserError('--amp (automatic mixed precision) needs a CUDA GPU, and this '
                        'machine has none: mmengine trains in mixed precision only on GPU, NPU, '
                        'MLU or MUSA devices. Fix: drop --amp (training on CPU runs in float32).')


def named_error(error: BaseException):
    """The :class:`~mmsgnet.utils.errors.UserError` behind ``error``, if any: ``error`` itself,
    one in its ``__cause__``/``__context__`` chain (mmengine's registry re-raises build errors
    as a new exception), or one re-raised from a DataLoader worker (whose message then
    carries the worker's traceback; the original message is returned as a str)."""
    from .errors import UserError
    seen, current, found = set(), error, None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UserError):
            found = current  # keep the innermost: its message is the original one
        current = current.__cause__ or current.__context__
    if found is not None:
        text = str(found)
        if 'Original Traceback' in text:  # torch.utils.data re-raised it from a worker
            qualname = f'{type(found).__module__}.{type(found).__qualname__}: '
            if qualname in text:
                return text.rsplit(qualname, 1)[1].strip()
        return found
    return None


def run_mmdet_tool(name: str) -> None:
    """Execute mmdet's ``tools/<name>`` as ``__main__`` with the current ``sys.argv``
    (plus :func:`cpu_distributed_args`), and destroy the process group it created, if any.

    A named error (:class:`~mmsgnet.utils.errors.UserError`: bad data, settings or files)
    ends the run with status 1 and its message printed last and once, as
    ``error: <message>``, without the traceback (set ``MMSGNET_TRACEBACK=1`` to see it).
    """
    import mmsgnet  # noqa: F401  (registers the plugin)
    path = mmdet_tool_path(name)
    try:
        _check_amp(sys.argv)
        sys.argv += cpu_distributed_args(sys.argv)
        sys.argv[0] = path
        try:
            runpy.run_path(path, run_name='__main__')
        finally:
            _destroy_process_group()
    except Exception as error:
        named = named_error(error)
        if named is None:
            raise
        if os.environ.get('MMSGNET_TRACEBACK') == '1':
            traceback.print_exc()
        sys.stdout.flush()
        print(f'error: {named}', file=sys.stderr)
        sys.exit(1)


def _destroy_process_group() -> None:
    """Tear the default process group down while the interpreter is still alive.

    mmdet's scripts never call ``destroy_process_group``; with gloo its C++ worker threads
    then outlive Python finalization and the process can die with SIGABRT ("terminate called
    without an active exception") after a successful run."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
