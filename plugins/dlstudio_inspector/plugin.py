"""Hook implementations of the architecture inspector plugin."""

DLSTUDIO_CONTRACT = 1
