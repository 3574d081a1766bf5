import pytest
import torchvision.models

from dlstudio_images.models.params import ARCHS, default_data, imagenet_classes


def test_the_shipped_imagenet_class_names_are_torchvisions():
    assert imagenet_classes() == tuple(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


@pytest.mark.parametrize("arch_id", list(ARCHS))
def test_each_classifier_is_described_with_the_classes_of_its_own_imagenet_weights(arch_id):
    arch = ARCHS[arch_id]
    weights = getattr(torchvision.models, arch.weights_enum).IMAGENET1K_V1
    info = default_data(arch)
    assert info.classes == tuple(weights.meta["categories"]) and info.num_classes == 1000
    assert info.input_shape == (3, arch.input_size, arch.input_size)
