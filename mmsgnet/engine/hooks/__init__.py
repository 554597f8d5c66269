from .num_classes_check_hook import NumClassesCheckHook, NumClassesMismatchError

__all__ = ['NumClassesCheckHook', 'NumClassesMismatchError']
