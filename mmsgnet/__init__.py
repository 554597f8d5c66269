"""mmsgnet: one-stage image and video instance segmentation for MMDetection 3.x.

Importing this package registers every component of the plugin into mmdet's own
registries (``MODELS``, ``DATASETS``, ``TRANSFORMS``, ``METRICS``, ...), so that configs
with ``default_scope='mmdet'`` and
``custom_imports=dict(imports=['mmsgnet'], allow_failed_imports=False)`` run with both
the tools of this repository and mmdet's own tools.
"""
from .utils import (setup_atomic_checkpoint_saving, setup_checkpoint_loading,
                    setup_named_checkpoint_errors)
from .version import __version__

setup_checkpoint_loading()
setup_atomic_checkpoint_saving()
setup_named_checkpoint_errors()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'datasets', 'engine', 'evaluation', 'models']
