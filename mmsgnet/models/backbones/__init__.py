from .resnet_interval_dcn import ResNetIntervalDCN

__all__ = ['ResNetIntervalDCN']
