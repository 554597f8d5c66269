from .one_stage_vis import SGNet, OneStageVIS

__all__ = ['OneStageVIS', 'SGNet']
