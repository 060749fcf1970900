"""Keras layers for PINNs, one public class per module."""

from keras_pinn.layers.domain_scaler import DomainScaler

__all__ = ["DomainScaler"]
