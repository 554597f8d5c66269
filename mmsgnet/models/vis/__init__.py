from .one_stage_vis import OneStageVIS, SGNet, SipMaskVIS

__all__ = ['OneStageVIS', 'SGNet', 'SipMaskVIS']
