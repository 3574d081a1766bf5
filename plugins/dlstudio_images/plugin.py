"""Hook implementations of the image classification plugin."""

DLSTUDIO_CONTRACT = 1
