"""Neural style transfer: an image optimised with L-BFGS so that a frozen network sees the content of one picture
and the textures (Gram matrices) of another."""
