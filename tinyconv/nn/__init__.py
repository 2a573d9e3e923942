"""Neural-network building blocks, as torch.nn: Module, Parameter, layers, losses."""
from . import functional, init
from .layers import (
    AdaptiveAvgPool2d, AvgPool2d, BCELoss, BCEWithLogitsLoss, Conv2d, ConvTranspose2d, CrossEntropyLoss,
    Dropout, Flatten, Identity, L1Loss, LeakyReLU, Linear, LogSoftmax, MaxPool2d, ModuleList, MSELoss,
    NLLLoss, ReLU, Sequential, Sigmoid, Softmax, Tanh,
)
from .layers import (
    BatchNorm1d, BatchNorm2d, LazyBatchNorm1d, LazyBatchNorm2d, LazyConv2d, LazyLinear, UninitializedParameter,
)
from .module import Module, Parameter
from . import utils

__all__ = [
    "functional", "init", "Module", "Parameter", "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss",
    "BCEWithLogitsLoss", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss", "Dropout", "Flatten", "Identity",
    "L1Loss", "LeakyReLU", "Linear", "LogSoftmax", "MaxPool2d", "ModuleList", "MSELoss", "NLLLoss", "ReLU",
    "Sequential", "Sigmoid", "Softmax", "Tanh",
    "BatchNorm1d", "BatchNorm2d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyConv2d", "LazyLinear",
    "UninitializedParameter", "utils",
]
