from .fassst import FASSST
from .sipmask import SipMask

__all__ = ['FASSST', 'SipMask']
