"""Engine components: hooks that refuse bad settings before any work is done."""
from .hooks import NumClassesCheckHook, NumClassesMismatchError

__all__ = ['NumClassesCheckHook', 'NumClassesMismatchError']
