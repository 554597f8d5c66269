"""Make checkpoints written by mmengine 0.10.x loadable under torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7 does not
pass ``weights_only``. A checkpoint saved by mmengine's ``CheckpointHook`` holds, besides
tensors, a message hub with :class:`mmengine.logging.HistoryBuffer` objects and numpy
arrays/scalars, which the restricted unpickler refuses. Instead of switching the
restricted unpickler off (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``), we allow exactly the
classes that mmengine writes into its checkpoints.
"""
import numpy as np
import torch


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
