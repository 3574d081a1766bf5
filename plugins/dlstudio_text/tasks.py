"""The text tasks and the live-sample callback, as the plugin contract describes them.

Describing them imports no torch: the step functions live in :mod:`dlstudio_text.training`, imported when a
run creates its task or callback.
"""

from __future__ import annotations

from typing import Any

from dlstudio.contract import CallbackSpec, MetricSpec, RunContext, TaskSpec
from dlstudio.params import Param

CLASSIFICATION = "text-classification"
LANGUAGE_MODEL = "language-model"

LM_PARAMS = {
    "bptt": Param(35, minimum=2, maximum=2000, unit="tokens",
                  help="Tokens back-propagated through at once (truncated BPTT): the length of each window "
                       "the text is cut into. The book uses 35."),
}


def _classification(ctx: Any) -> Any:
    from dlstudio_text.training import TextClassificationTask

    return TextClassificationTask(ctx)


def _language_model(ctx: Any) -> Any:
    from dlstudio_text.training import LanguageModelTask

    return LanguageModelTask(ctx)


def _live_sample(run: RunContext) -> Any:
    from dlstudio_text.training import LiveSample

    return LiveSample(run.run_dir)


def task_specs() -> list[TaskSpec]:
    return [
        TaskSpec(
            id=CLASSIFICATION, title="Text classification", create=_classification,
            description="Batches of (tokens, lengths, labels); the model takes (tokens, lengths) and returns "
                        "logits. Cross-entropy; the spec's optimiser over the trainable parameters only (a "
                        "frozen embedding is left out).",
            metrics=(MetricSpec("loss", "Cross-entropy", "min", unit="nats"),
                     MetricSpec("accuracy", "Accuracy", "max", group="accuracy")),
        ),
        TaskSpec(
            id=LANGUAGE_MODEL, title="Language model (next token)", create=_language_model,
            description="Windows of (batch, bptt + 1) tokens from one stream; the model takes (tokens, state) "
                        "and returns (logits, state). The state is carried from window to window and "
                        "detached (truncated BPTT), afresh at each pass and apart for training and "
                        "validation; clip gradients with [train] grad_clip (the book: 0.25).",
            defaults=LM_PARAMS,
            metrics=(MetricSpec("loss", "Cross-entropy", "min", unit="nats"),
                     MetricSpec("perplexity", "Perplexity", "min", group="perplexity")),
        ),
    ]


def callback_specs() -> list[CallbackSpec]:
    return [
        CallbackSpec(
            id="text.live-sample", title="Generated sample each epoch", create=_live_sample,
            tasks=(LANGUAGE_MODEL,), always=True,
            description="After each epoch, the model writes a short text (fixed seed, temperature 0.8): shown "
                        "in the run log and appended to samples.txt in the run's folder.",
        ),
    ]
