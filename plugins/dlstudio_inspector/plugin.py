"""Hook implementations of the architecture inspector plugin.

Everything headless (sources, summary, graph, activations, weights, attribution, featvis, export, cli) is
plain Python; Qt is imported only inside :func:`_panel`, so the plugin loads for the CLI and tests.
"""

from dlstudio import hookimpl
from dlstudio.contract import FamilySpec, PanelSpec
from dlstudio_inspector import __version__  # noqa: F401  (the plugin's version, read by the host)

DLSTUDIO_CONTRACT = 2
FAMILY = "inspector"
PANEL = "inspector.main"
#: The cross-plugin message that opens a checkpoint here: ``context.post(OPEN_TOPIC, {"path": ...})``.
OPEN_TOPIC = "model.open"


def _panel(context):
    from dlstudio_inspector.panels.main import InspectorPanel

    return InspectorPanel(context, panel_id=PANEL)


@hookimpl
def dlstudio_register_families(register):
    register(FamilySpec(id=FAMILY, title="Architecture inspector", order=30,
                        description="Layers, graph, activations, weights, attribution and export of any model"))


@hookimpl
def dlstudio_register_panels(register):
    register(PanelSpec(id=PANEL, title="Inspector", family=FAMILY, factory=_panel, order=10))


@hookimpl
def dlstudio_register_commands(register):
    from dlstudio_inspector.cli import COMMANDS

    for command in COMMANDS:
        register(command)
