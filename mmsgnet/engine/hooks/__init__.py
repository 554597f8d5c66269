from .checkpoint_check_hook import CheckpointCheckHook, CheckpointMismatchError
from .num_classes_check_hook import NumClassesCheckHook, NumClassesMismatchError
from .work_dir_outputs_hook import WorkDirOutputsHook

__all__ = [
    'CheckpointCheckHook', 'CheckpointMismatchError', 'NumClassesCheckHook',
    'NumClassesMismatchError', 'WorkDirOutputsHook'
]
