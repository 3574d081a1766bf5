"""Image classification: everything the book does with images (chapters 3, 4, 5 and 8)."""

__version__ = "0.1.0"
