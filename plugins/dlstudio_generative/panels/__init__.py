"""The generative plugin's pages in the window: Style transfer, Train (GAN recipes), GAN samples and Play.
Qt is imported only inside the factories (each page in its module), so registering the plugin (every
``dlstudio`` command, every test) never imports Qt."""

from __future__ import annotations

from dlstudio.contract import PanelSpec

FAMILY = "generative"


def _style(context):
    from dlstudio_generative.panels.style_page import StylePage

    return StylePage(context)


def _train(context):
    from dlstudio.gui.train_panel import TrainPanel

    return TrainPanel(context, family=FAMILY)


def _gan(context):
    from dlstudio_generative.panels.gan_page import GanSamplesPage

    return GanSamplesPage(context)


def _play(context):
    from dlstudio_generative.panels.play_page import PlayPage

    return PlayPage(context)


def panel_specs() -> list[PanelSpec]:
    return [
        PanelSpec(id="generative.style", title="Style transfer", family=FAMILY, factory=_style, order=10),
        PanelSpec(id="generative.train", title="Train", family=FAMILY, factory=_train, order=20),
        PanelSpec(id="generative.gan", title="GAN samples", family=FAMILY, factory=_gan, order=30),
        PanelSpec(id="generative.play", title="Play", family=FAMILY, factory=_play, order=40),
    ]
