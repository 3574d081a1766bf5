"""dlstudio-hello-plugin: a small MLP learns two interleaved spirals (an example dlstudio plugin)."""

__version__ = "0.1.0"
