from .meinst import MEInst
from .sipmask import SipMask

__all__ = ['MEInst', 'SipMask']
