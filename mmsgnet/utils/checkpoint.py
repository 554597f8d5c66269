"""Checkpoint files: loadable under torch >= 2.6, saved atomically, and named errors for bad
ones.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7 does not
pass ``weights_only``. A checkpoint saved by mmengine's ``CheckpointHook`` holds, besides
tensors, a message hub with :class:`mmengine.logging.HistoryBuffer` objects and numpy
arrays/scalars, which the restricted unpickler refuses. Instead of switching the
restricted unpickler off (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``), we allow exactly the
classes that mmengine writes into its checkpoints.

mmengine writes checkpoints in place, so a run killed while saving leaves a truncated
``iter_N.pth``; :func:`setup_atomic_checkpoint_saving` makes every save (and the
``last_checkpoint`` pointer) go through a temporary file and a rename. A missing, truncated or
corrupt checkpoint given to ``--resume``, ``load_from`` or ``tools/test.py`` raises one
:class:`CheckpointFileError` (:func:`load_checkpoint_file`) instead of torch's raw error.
"""
import builtins
import os
import os.path as osp
import pickle
import zipfile
from typing import Optional

import numpy as np
import torch

from .atomic import write_atomically
from .errors import UserError


def _numpy_globals():
    """Return the numpy objects that pickled arrays and scalars refer to."""
    # numpy >= 2 pickles some dtypes as ``getattr(numpy.dtypes, name)``
    found = [np.ndarray, np.dtype, getattr]
    for modname in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = __import__(modname, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        found += [mod._reconstruct, mod.scalar]
        break
    # numpy >= 1.25 pickles dtypes through their own classes (np.dtypes.Float64DType, ...)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return found


def setup_checkpoint_loading():
    """Allow-list the non-tensor classes of mmengine checkpoints for ``torch.load``.

    Idempotent; called once when :mod:`mmsgnet` is imported.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4 loads everything anyway
        return
    from mmengine.logging import HistoryBuffer
    add_safe_globals([HistoryBuffer] + _numpy_globals())


class CheckpointFileError(UserError, OSError):
    """A checkpoint file is missing, truncated, corrupt or not a checkpoint."""


_CHECKPOINT_FIX = ('use another checkpoint (e.g. the previous `iter_*.pth`/`epoch_*.pth` of '
                   'the run, or `last_checkpoint` with a bare `--resume`), or re-download / '
                   're-convert it')


def _checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be a torch checkpoint, judged from its bytes (``None``: it looks
    like one, so a failure to load it is about its content)."""
    size = osp.getsize(path)
    if size == 0:
        return 'the file is empty (0 bytes)'
    with open(path, 'rb') as f:
        head = f.read(4)
    if head.startswith(b'PK'):  # torch's zip format: the directory is at the end
        try:
            with zipfile.ZipFile(path) as archive:
                archive.namelist()
        except (zipfile.BadZipFile, OSError) as error:
            return (f'the file is truncated or corrupt ({size} bytes; its zip directory cannot '
                    f'be read: {error}); a run killed while saving leaves such a file')
        return None
    if head[:1] != b'\x80':  # legacy torch.save / pickle protocol 2+
        return 'the file is not a PyTorch checkpoint (neither a zip nor a pickle)'
    return None


def load_checkpoint_file(filename: str, map_location='cpu') -> dict:
    """``torch.load`` a local checkpoint, turning every failure into one
    :class:`CheckpointFileError` that names the file, the cause and the fix.

    Used by mmengine's checkpoint loading once :func:`setup_checkpoint_loading` has run (so
    ``--resume``, ``load_from`` and ``tools/test.py`` get the named error), and meant for
    every tool that reads a checkpoint (demo, converters).

    Args:
        filename (str): Path of the checkpoint (``~`` is expanded).
        map_location: As for ``torch.load``. Default 'cpu'.

    Returns:
        The loaded object (a dict for checkpoints of mmengine).

    Raises:
        CheckpointFileError: If the file is missing, empty, truncated, corrupt or not a
            checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise CheckpointFileError(f"Checkpoint '{filename}' does not exist. Fix: check the "
                                  'path (relative paths start at the current folder).')
    try:
        problem = _checkpoint_problem(filename)
    except OSError as error:
        raise CheckpointFileError(f"Checkpoint '{filename}' cannot be read ({error}). Fix: "
                                  'check the file permissions.') from error
    if problem is not None:
        raise CheckpointFileError(f"Checkpoint '{filename}': {problem}. Fix: {_CHECKPOINT_FIX}.")
    try:
        return torch.load(filename, map_location=map_location)
    except pickle.UnpicklingError as error:
        if 'weights_only' in str(error) or 'Weights only load failed' in str(error):
            raise CheckpointFileError(
                f"Checkpoint '{filename}' holds Python objects that torch's safe loader "
                f'refuses ({str(error).splitlines()[0]}). Fix: load only checkpoints you '
                'trust; one from another code base may need its converter '
                '(tools/model_converters/).') from error
        raise CheckpointFileError(f"Checkpoint '{filename}' is corrupt ({error}). Fix: "
                                  f'{_CHECKPOINT_FIX}.') from error
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise CheckpointFileError(f"Checkpoint '{filename}' is truncated or corrupt "
                                  f'({type(error).__name__}: {str(error).splitlines()[0]}). '
                                  f'Fix: {_CHECKPOINT_FIX}.') from error


_write_atomically = write_atomically


class _AtomicTextFile:
    """What ``open(path, 'w')`` returns inside mmengine's ``CheckpointHook`` once
    :func:`setup_atomic_checkpoint_saving` has run: text written goes to ``path`` atomically
    when the file is closed (``last_checkpoint`` is never left empty)."""

    def __init__(self, path, mode: str, **kwargs):
        self.path, self.mode, self.kwargs, self.parts = os.fspath(path), mode, kwargs, []
        self.closed = False

    def write(self, text) -> int:
        self.parts.append(text)
        return len(text)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            data = type(self.parts[0])().join(self.parts) if self.parts else ''
            if 'b' in self.mode:
                _write_atomically(self.path, lambda f: f.write(data), 'wb')
            else:
                encoding = self.kwargs.get('encoding') or 'utf-8'
                _write_atomically(self.path, lambda f: f.write(data.encode(encoding)), 'wb')

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        self.closed = True


def _open_atomic_for_writing(file, mode='r', *args, **kwargs):
    if mode in ('w', 'wb', 'wt') and isinstance(file, (str, os.PathLike)) and not args:
        return _AtomicTextFile(file, mode, **kwargs)
    return builtins.open(file, mode, *args, **kwargs)


def save_checkpoint_atomic(checkpoint: dict, filename: str, file_client_args=None,
                           backend_args=None) -> None:
    """mmengine's ``save_checkpoint`` that writes a local file through a temporary file and a
    rename, so that a run killed while saving leaves either the complete checkpoint or none
    (mmengine writes the final file in place). Other storage backends are mmengine's.

    Args:
        checkpoint (dict): What to save.
        filename (str): Destination.
        file_client_args, backend_args: As for :func:`mmengine.runner.save_checkpoint`.
    """
    from mmengine.fileio import LocalBackend, get_file_backend
    local = file_client_args is None and not str(filename).startswith('pavi://') and \
        isinstance(get_file_backend(filename, backend_args=backend_args), LocalBackend)
    if not local:
        return _MMENGINE_SAVE_CHECKPOINT(checkpoint, filename, file_client_args, backend_args)
    _write_atomically(str(filename), lambda f: torch.save(checkpoint, f))


_MMENGINE_SAVE_CHECKPOINT = None


def setup_atomic_checkpoint_saving() -> None:
    """Make mmengine save checkpoints atomically: ``Runner.save_checkpoint`` (hence
    ``CheckpointHook``, ``iter_N.pth``/``epoch_N.pth``/best checkpoints) goes through
    :func:`save_checkpoint_atomic`, and the ``last_checkpoint`` file that ``CheckpointHook``
    writes is replaced atomically too. Idempotent; called when :mod:`mmsgnet` is imported."""
    global _MMENGINE_SAVE_CHECKPOINT
    import mmengine.hooks.checkpoint_hook as checkpoint_hook
    import mmengine.runner as runner_package
    import mmengine.runner.checkpoint as checkpoint_module
    import mmengine.runner.runner as runner_module
    if _MMENGINE_SAVE_CHECKPOINT is None:
        _MMENGINE_SAVE_CHECKPOINT = checkpoint_module.save_checkpoint
    for module in (checkpoint_module, runner_module, runner_package):
        module.save_checkpoint = save_checkpoint_atomic
    checkpoint_hook.open = _open_atomic_for_writing


def setup_named_checkpoint_errors() -> None:
    """Route mmengine's loading of local checkpoints (``load_from``, ``--resume``,
    ``tools/test.py``, ``load_checkpoint``) through :func:`load_checkpoint_file`, so that a
    missing, truncated or corrupt file gives one :class:`CheckpointFileError`. Idempotent."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_checkpoint_file)
