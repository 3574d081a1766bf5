"""Hook implementations of the architecture inspector plugin.

Everything headless (sources, summary, graph, activations, weights, attribution, featvis, export, cli) is
plain Python; Qt is imported only inside :func:`_panel`, so the plugin loads for the CLI and tests.
"""

from dlstudio import hookimpl
from dlstudio.contract import CallbackSpec, FamilySpec, PanelSpec
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


def _histograms(run):
    from dlstudio_inspector.histograms import HistogramRecorder

    return HistogramRecorder(run.run_dir, resumed=run.resumed)


@hookimpl
def dlstudio_register_callbacks(register):
    # Always on for classification: it costs well under 1 % of an epoch (see histograms.py) and a user only
    # thinks of wanting the histograms once a run went wrong. Other tasks are not measured yet.
    register(CallbackSpec(
        id="inspector.histograms", title="Weight and gradient histograms", create=_histograms,
        tasks=("classification",), always=True,
        description="At each epoch's end, a histogram of every parameter's values and of its last gradient, "
                    "on bins fixed per tensor so epochs compare, appended to histograms.jsonl in the run's folder "
                    "(shown by the inspector's Histograms tab)."))
