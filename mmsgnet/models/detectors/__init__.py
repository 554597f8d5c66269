from .fassst import FASSST
from .meinst import MEInst
from .sipmask import SipMask

__all__ = ['FASSST', 'MEInst', 'SipMask']
