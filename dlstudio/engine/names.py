"""Names the [train] section accepts, kept apart from the builders so that reading a spec needs no torch."""

OPTIMIZERS = ("sgd", "adam", "adamw", "lbfgs")
SCHEDULERS = ("none", "step", "multistep", "exponential", "plateau", "cosine", "onecycle")
