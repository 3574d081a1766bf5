"""The plugin's pages in the window. Qt is imported only inside the factories (each page in its module)."""

from __future__ import annotations

from dlstudio.contract import PanelSpec


def _train(context):
    from dlstudio_images.panels.train_page import TrainPage

    return TrainPage(context)


def _data(context):
    from dlstudio_images.panels.data_page import DataPage

    return DataPage(context)


def _evaluate(context):
    from dlstudio_images.panels.evaluate_page import EvaluatePage

    return EvaluatePage(context)


def _studies(context):
    from dlstudio_images.panels.studies import StudiesPage

    return StudiesPage(context)


def panel_specs() -> list[PanelSpec]:
    return [
        PanelSpec(id="images.train", title="Train", family="images", factory=_train, order=10),
        PanelSpec(id="images.data", title="Data", family="images", factory=_data, order=20),
        PanelSpec(id="images.evaluate", title="Evaluate", family="images", factory=_evaluate, order=30),
        PanelSpec(id="images.studies", title="Cross-validation & ensembles", family="images", factory=_studies,
                  order=40),
    ]
