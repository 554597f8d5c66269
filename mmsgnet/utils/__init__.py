from .checkpoint import setup_checkpoint_loading

__all__ = ['setup_checkpoint_loading']
