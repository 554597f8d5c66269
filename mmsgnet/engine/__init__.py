"""Engine components: hooks that refuse bad settings before any work is done."""
from .hooks import (CheckpointCheckHook, CheckpointMismatchError, NumClassesCheckHook,
                    NumClassesMismatchError, WorkDirOutputsHook)

__all__ = [
    'CheckpointCheckHook', 'CheckpointMismatchError', 'NumClassesCheckHook',
    'NumClassesMismatchError', 'WorkDirOutputsHook'
]
