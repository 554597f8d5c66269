from .checkpoint_check_hook import CheckpointCheckHook, CheckpointMismatchError
from .num_classes_check_hook import NumClassesCheckHook, NumClassesMismatchError

__all__ = [
    'CheckpointCheckHook', 'CheckpointMismatchError', 'NumClassesCheckHook',
    'NumClassesMismatchError'
]
