"""Keras layers for PINNs, one public class per module."""

from keras_pinn.layers.domain_scaler import DomainScaler
from keras_pinn.layers.fourier_features import FourierFeatures
from keras_pinn.layers.grid_conv import GridConv, check_regular_grid
from keras_pinn.layers.mlp import MLP
from keras_pinn.layers.modified_mlp import ModifiedMLP
from keras_pinn.layers.normalization import LearnableNormalization
from keras_pinn.layers.periodic_embedding import PeriodicEmbedding
from keras_pinn.layers.pirate_block import PirateBlock
from keras_pinn.layers.pirate_net import PirateNet
from keras_pinn.layers.pow_relu import ParallelPowerBlock, PowReLU, pow_relu, relu2, relu3, relu4, relu5
from keras_pinn.layers.vector_quantizer import RankineHugoniotQuantizer, VectorQuantizer

__all__ = [
    "DomainScaler",
    "FourierFeatures",
    "GridConv",
    "LearnableNormalization",
    "MLP",
    "ModifiedMLP",
    "ParallelPowerBlock",
    "PeriodicEmbedding",
    "PirateBlock",
    "PirateNet",
    "PowReLU",
    "RankineHugoniotQuantizer",
    "VectorQuantizer",
    "check_regular_grid",
    "pow_relu",
    "relu2",
    "relu3",
    "relu4",
    "relu5",
]
