from dlstudio_inspector.compare import compare, format_comparison
from dlstudio_inspector.sources import open_registered


def test_two_models_side_by_side(studio):
    comparison = compare([open_registered(studio, "tiny.resnet18"), open_registered(studio, "tiny.cnn")])
    rows = dict(comparison.rows)
    assert rows["Parameters"][0].startswith("11,689,512")
    assert rows["Depth (conv/linear layers)"] == ["18", "4"]
    assert rows["Input"] == ["1×3×64×64", "1×3×32×32"]
    blocks = dict(comparison.blocks)
    assert blocks["layer1"][0].startswith("Sequential") and blocks["layer1"][1] == ""
    assert blocks["conv1"][0].startswith("Conv2d") and blocks["conv1"][1].startswith("Conv2d")
    text = format_comparison(comparison)
    assert "ResNet-18" in text and "Book CNN" in text
