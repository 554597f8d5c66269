from .checkpoint import (CheckpointFileError, load_checkpoint_file, save_checkpoint_atomic,
                         setup_atomic_checkpoint_saving, setup_checkpoint_loading,
                         setup_named_checkpoint_errors)
from .errors import ConfigError, UserError

__all__ = [
    'setup_checkpoint_loading', 'setup_atomic_checkpoint_saving', 'setup_named_checkpoint_errors',
    'load_checkpoint_file', 'save_checkpoint_atomic', 'CheckpointFileError', 'UserError',
    'ConfigError'
]
