"""Architecture inspector: structure, activations, weights and export of any model."""

__version__ = "0.1.0"
