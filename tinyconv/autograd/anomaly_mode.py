"""PyTorch's module name for anomaly detection (torch.autograd.anomaly_mode): the same
detect_anomaly and set_detect_anomaly as tinyconv.autograd (anomaly.py)."""

from .anomaly import detect_anomaly, set_detect_anomaly

__all__ = ["detect_anomaly", "set_detect_anomaly"]
