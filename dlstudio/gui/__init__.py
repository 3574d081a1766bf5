"""The Qt layer: a thin shell over the headless core. Only this package (and plugins' panel factories)
import Qt."""
