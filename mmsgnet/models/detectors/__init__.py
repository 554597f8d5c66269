from .sipmask import SipMask

__all__ = ['SipMask']
