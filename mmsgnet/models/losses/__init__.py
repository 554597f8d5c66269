from .log_giou_loss import LogGIoULoss, log_giou_loss

__all__ = ['LogGIoULoss', 'log_giou_loss']
