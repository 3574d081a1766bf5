"""A new classifier from a folder: the look at the folder, the recipe chosen, and bad folders refused."""

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from dlstudio.spec import RunSpec
from dlstudio_images.folder_recipe import choose_recipe, survey


def draw_shapes(root: Path, per_class: int = 6, size: int = 40, mode: str = "RGB") -> Path:
    """Two classes of simple shapes, as PNG files: circles and squares at varying places."""
    for cls in ("circle", "square"):
        for i in range(per_class):
            img = Image.new(mode, (size, size), "white" if mode == "RGB" else 255)
            draw = ImageDraw.Draw(img)
            x = 4 + i % 8
            box = (x, x, x + size // 2, x + size // 2)
            ink = "black" if mode == "RGB" else 0
            draw.ellipse(box, fill=ink) if cls == "circle" else draw.rectangle(box, fill=ink)
            (root / cls).mkdir(parents=True, exist_ok=True)
            img.save(root / cls / f"{cls}{i}.png")
    return root


def no_weights():
    return False, "/hub/checkpoints/mobilenet.pth"


def test_the_survey_counts_classes_sizes_and_colours(tmp_path):
    root = draw_shapes(tmp_path / "shapes", per_class=5, size=40, mode="L")
    (root / "square" / "notes.txt").write_text("not an image")
    found = survey(root)
    assert found.counts == {"circle": 5, "square": 5}
    assert found.median_side() == 40 and found.grey and found.valid_dir is None


def test_few_images_without_weights_train_a_small_cnn_and_say_why(tmp_path):
    found = survey(draw_shapes(tmp_path / "shapes", per_class=6, size=40))
    recipe = choose_recipe(found, no_weights)
    spec = RunSpec.from_dict(recipe.spec, source="test")  # a spec `dlstudio train` accepts
    assert spec.model.id == "images.mnist_net" and spec.data.id == "images.folder"
    assert spec.data.params["root"] == str(tmp_path / "shapes")
    assert (spec.data.params["size"], spec.data.params["channels"], spec.data.params["hflip"]) == (32, 3, True)
    assert spec.data.params["holdout"] == 0.2
    said = "\n".join(recipe.reasons)
    assert "cannot be downloaded offline" in said and "/hub/checkpoints/mobilenet.pth" in said
    assert all("\n" not in line for line in recipe.reasons)


def test_few_images_with_the_weights_here_learn_from_a_pretrained_network(tmp_path):
    found = survey(draw_shapes(tmp_path / "shapes", per_class=6, size=300))
    recipe = choose_recipe(found, lambda: (True, "here"))
    assert recipe.spec["model"] == {"id": "images.mobilenet_v3_small",
                                    "params": {"weights": "imagenet", "freeze": "backbone"}}
    assert recipe.spec["data"]["params"]["size"] == 224 and recipe.spec["data"]["params"]["normalize"] == "imagenet"
    assert "pretrained on ImageNet" in recipe.reasons[1]


@pytest.mark.parametrize("make, message", [
    (lambda root: root.mkdir(), "has no class folders"),
    (lambda root: draw_shapes(root) and __import__("shutil").rmtree(root / "square"), "only one class folder"),
    (lambda root: draw_shapes(root) and (root / "empty").mkdir(), "'empty' has no image files"),
    (lambda root: draw_shapes(root) and [(root / "bad" / f"{i}.png").parent.mkdir(exist_ok=True) or
                                         (root / "bad" / f"{i}.png").write_bytes(b"junk") for i in range(2)],
     "'bad' has 2 files, none readable as an image"),
    (lambda root: None, "is not a folder"),
])
def test_a_folder_a_classifier_cannot_learn_from_says_what_is_wrong(tmp_path, make, message):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        survey(root)
