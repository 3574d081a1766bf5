"""The DCGAN: the book's generator and discriminator, their data, the two-optimiser task and what a person does
with a trained generator (sample, interpolate, score)."""
