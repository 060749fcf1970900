"""Keras layers for PINNs, one public class per module."""

from keras_pinn.layers.domain_scaler import DomainScaler
from keras_pinn.layers.grid_conv import GridConv, check_regular_grid
from keras_pinn.layers.mlp import MLP
from keras_pinn.layers.normalization import LearnableNormalization
from keras_pinn.layers.pow_relu import ParallelPowerBlock, PowReLU, pow_relu, relu2, relu3, relu4, relu5
from keras_pinn.layers.vector_quantizer import VectorQuantizer

__all__ = [
    "DomainScaler",
    "GridConv",
    "LearnableNormalization",
    "MLP",
    "ParallelPowerBlock",
    "PowReLU",
    "VectorQuantizer",
    "check_regular_grid",
    "pow_relu",
    "relu2",
    "relu3",
    "relu4",
    "relu5",
]
