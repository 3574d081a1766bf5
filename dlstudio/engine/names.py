"""Names the [train] section accepts, kept apart from the builders so that reading a spec needs no torch."""

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "multistep", "exponential", "plateau", "cosine", "onecycle")
