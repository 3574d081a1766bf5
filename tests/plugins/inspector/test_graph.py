import torch
import torchvision
from torch import nn

from dlstudio_inspector.graph import build_graph, collapse, default_collapsed, layout, weighted_depth


def _preds(graph, node):
    return [graph.node(p) for p in graph.preds(node.id)]


def test_resnet_residual_additions_are_visible():
    graph = build_graph(torchvision.models.resnet18(weights=None).eval(), torch.randn(1, 3, 32, 32))
    assert graph.traced and not graph.message
    adds = [n for n in graph.merges() if n.op == "add"]
    assert len(adds) == 8  # one per BasicBlock
    first = next(n for n in adds if n.module == "layer1.0")
    sources = {p.module for p in _preds(graph, first)}
    assert sources == {"layer1.0.bn2", "maxpool"}  # the block's path and the identity shortcut
    down = next(n for n in adds if n.module == "layer2.0")
    assert {p.module for p in _preds(graph, down)} == {"layer2.0.bn2", "layer2.0.downsample.1"}
    assert first.shape == "1×64×8×8"
    assert weighted_depth(graph) == 18


def test_inception_branches_join_in_a_concatenation():
    model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False).eval()
    graph = build_graph(model)
    cats = [n for n in graph.merges() if n.op == "cat"]
    mixed_5b = next(n for n in cats if n.module == "Mixed_5b")
    branches = {p.module.split(".")[1] for p in _preds(graph, mixed_5b)}
    assert branches == {"branch1x1", "branch5x5_2", "branch3x3dbl_3", "branch_pool"}


def test_densenet_layers_concatenate_everything_before_them():
    graph = build_graph(torchvision.models.densenet121(weights=None).eval())
    cats = [n for n in graph.nodes if n.op == "cat" and n.module.startswith("features.denseblock1.")]
    # Dense layer k concatenates the block input and the k-1 new feature maps before it...
    assert sorted(len(graph.preds(n.id)) for n in cats) == [1, 2, 3, 4, 5, 6]
    # ...and the block's output concatenates all of them.
    block = next(n for n in graph.nodes if n.op == "cat" and n.module == "features.denseblock1")
    assert len(graph.preds(block.id)) == 7
    assert weighted_depth(graph) == 121


def test_blocks_collapse_and_expand():
    graph = build_graph(torchvision.models.resnet18(weights=None).eval())
    folded = collapse(graph, {"layer1", "layer2.0"})
    ids = [n.id for n in folded.nodes]
    assert "group:layer1" in ids and "group:layer2.0" in ids
    assert not any(n.module.startswith("layer1.") for n in folded.nodes if n.kind != "group")
    group = folded.node("group:layer1")
    assert group.members == len(graph.find("layer1"))
    assert ("maxpool", "group:layer1") in folded.edges
    assert len(folded.nodes) < len(graph.nodes)
    assert collapse(graph, set()).nodes == graph.nodes


def test_big_graphs_start_collapsed_and_the_layout_is_layered():
    graph = build_graph(torchvision.models.densenet121(weights=None).eval())
    chosen = default_collapsed(graph, max_nodes=150)
    assert chosen and len(collapse(graph, chosen).nodes) <= 150
    pos = layout(graph)
    assert set(pos) == {n.id for n in graph.nodes}
    for a, b in graph.edges:
        assert pos[a][1] < pos[b][1]  # every edge points down


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
            x = self.body(x)
        return self.head(x)


def test_a_model_that_does_not_trace_falls_back_to_the_module_tree_and_says_why():
    graph = build_graph(Untraceable())
    assert not graph.traced
    assert "torch.fx could not trace" in graph.message and "control flow" in graph.message
    assert {n.id for n in graph.nodes} >= {"body", "body.0", "body.1", "head"}
    assert ("body", "body.0") in graph.edges
    folded = collapse(graph, {"body"})
    assert "body.0" not in {n.id for n in folded.nodes} and folded.node("body").members == 3
    assert weighted_depth(graph) is None


def test_lstm_model_traces_with_tuple_outputs(studio):
    from dlstudio_inspector.sources import open_registered

    opened = open_registered(studio, "tiny.rnn")
    graph = build_graph(opened.model, opened.sample())
    assert graph.traced
    rnn = next(n for n in graph.nodes if n.module == "rnn" and n.kind == "module")
    assert rnn.shape.startswith("(12×1×16")
