"""Image classifiers: the book's networks and torchvision's architectures, with transfer-learning options."""
