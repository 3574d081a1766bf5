"""The text plugin's pages in the window. Qt is imported only inside the factories (each page in its module),
so registering the plugin (every ``dlstudio`` command, every test) never imports Qt."""

from __future__ import annotations

from dlstudio.contract import PanelSpec

FAMILY = "text"


def _train(context):
    from dlstudio.gui.train_panel import TrainPanel

    return TrainPanel(context, family=FAMILY)


def _data(context):
    from dlstudio_text.panels.data_page import DataPage

    return DataPage(context)


def _generate(context):
    from dlstudio_text.panels.generate_page import GeneratePage

    return GeneratePage(context)


def _try_it(context):
    from dlstudio_text.panels.try_page import TryPage

    return TryPage(context)


def _evaluate(context):
    from dlstudio_text.panels.evaluate_page import EvaluatePage

    return EvaluatePage(context)


def _embeddings(context):
    from dlstudio_text.panels.embeddings_page import EmbeddingsPage

    return EmbeddingsPage(context)


def panel_specs() -> list[PanelSpec]:
    return [
        PanelSpec(id="text.train", title="Train", family=FAMILY, factory=_train, order=10),
        PanelSpec(id="text.data", title="Data & vocabulary", family=FAMILY, factory=_data, order=20),
        PanelSpec(id="text.try", title="Try a classifier", family=FAMILY, factory=_try_it, order=30),
        PanelSpec(id="text.generate", title="Generate", family=FAMILY, factory=_generate, order=40),
        PanelSpec(id="text.evaluate", title="Evaluate", family=FAMILY, factory=_evaluate, order=35),
        PanelSpec(id="text.embeddings", title="Embeddings", family=FAMILY, factory=_embeddings, order=50),
    ]
