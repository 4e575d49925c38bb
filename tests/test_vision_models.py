"""torchvision.models counterparts: torchvision's module trees and state-dict names, the same
outputs once a torchvision state dict is loaded, and pretrained weights read from the hub
cache."""

import urllib.error
import urllib.request

import numpy as np
import pytest
from vision_oracle import import_torchvision

import numtorch
from numtorch.vision import models

ALL = models.list_models()
# Building VGG's 100M-parameter classifier takes seconds: vgg11_bn stands for the family (the
# others differ only in the layer list of models.vgg.cfgs and in BatchNorm).
LIGHT = ["alexnet", "densenet121", "mobilenet_v2", "resnet18", "resnet50", "squeezenet1_0",
         "squeezenet1_1", "vgg11_bn"]
STRUCTURE = [name for name in ALL if not name.startswith("vgg")]


@pytest.fixture(scope="module")
def tv():
    return import_torchvision()


def _calibrated(torch, model, x):
    """``model`` in eval mode with BatchNorm statistics of ``x`` (so activations stay O(1))."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


def _load_into(model, state_dict):
    model.load_state_dict({k: numtorch.tensor(v.numpy()) for k, v in state_dict.items()})
    return model


# Outputs and gradients are compared in float64: in float32, BatchNorm over a few values per
# channel (small inputs) amplifies rounding differences past any useful tolerance.


def test_the_registry_lists_the_classic_families():
    assert ALL == ["alexnet", "densenet121", "mobilenet_v2", "resnet18", "resnet34", "resnet50",
                   "squeezenet1_0", "squeezenet1_1", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"]


@pytest.mark.parametrize("name", ALL)
def test_each_builder_names_its_weights_enum(name):
    # read from the builder's ``weights: X_Weights | None`` hint, as torchvision does
    enum_cls = models.get_model_weights(name)
    assert issubclass(enum_cls, models.WeightsEnum)
    assert models.get_model_weights(models.get_model_builder(name)) is enum_cls
    member = enum_cls.DEFAULT
    assert models.get_weight(f"{enum_cls.__name__}.{member.name}") is member


@pytest.mark.parametrize("name", STRUCTURE)
def test_module_tree_and_state_dict_are_torchvisions(tv, name):
    import torch

    torch.manual_seed(0)
    want = getattr(tv.models, name)(num_classes=7)
    got = getattr(models, name)(num_classes=7)
    assert repr(got) == repr(want)
    want_sd, got_sd = want.state_dict(), got.state_dict()
    assert list(got_sd) == list(want_sd)
    for key, value in want_sd.items():
        assert tuple(got_sd[key].shape) == tuple(value.shape), key
        assert str(got_sd[key].dtype) == str(value.dtype), key
    assert sum(p.numel() for p in got.parameters()) == sum(p.numel() for p in want.parameters())


@pytest.mark.parametrize("name", LIGHT)
def test_same_outputs_as_torchvision_with_its_state_dict(tv, name):
    import torch

    torch.manual_seed(0)
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64))
    want_model = getattr(tv.models, name)()
    model = getattr(models, name)()
    if name.startswith("vgg"):  # the structure test leaves the VGGs to this one
        assert repr(model) == repr(want_model)
        assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in want_model.state_dict().items()]
    want_model = _calibrated(torch, want_model.double(), torch.from_numpy(x))
    with torch.no_grad():
        want = want_model(torch.from_numpy(x)).numpy()
    model = _load_into(model.double(), want_model.state_dict()).eval()
    with numtorch.no_grad():
        got = model(numtorch.tensor(x))
    assert got.dtype == numtorch.float64 and tuple(got.shape) == (2, 1000)
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-9 * np.abs(want).max())


def test_vgg_layer_lists_are_torchvisions(tv):
    assert models.vgg.cfgs == tv.models.vgg.cfgs


def test_resnet18_training_step_gradients_match_torchvision(tv):
    import torch

    torch.manual_seed(0)
    want_model = tv.models.resnet18(num_classes=5).double()
    model = _load_into(models.resnet18(num_classes=5).double(), want_model.state_dict())
    x = np.random.default_rng(2).standard_normal((4, 3, 32, 32))
    y = np.array([0, 3, 1, 4])
    loss = torch.nn.functional.cross_entropy(want_model(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    got_loss = numtorch.nn.functional.cross_entropy(model(numtorch.tensor(x)), numtorch.tensor(y))
    got_loss.backward()
    assert got_loss.item() == pytest.approx(loss.item(), rel=1e-12)
    want_grads = dict(want_model.named_parameters())
    for name, p in model.named_parameters():
        want = want_grads[name].grad.numpy()
        np.testing.assert_allclose(p.grad.numpy(), want, rtol=0, atol=1e-9 * np.abs(want).max(),
                                   err_msg=name)
    running = dict(want_model.named_buffers())
    for name, b in model.named_buffers():  # train mode updated the BatchNorm statistics
        np.testing.assert_allclose(b.numpy(), running[name].numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------- weights
@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache and no network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    checkpoints = tmp_path / "torch-home" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    return checkpoints


@pytest.mark.parametrize("weights", ["DEFAULT", "IMAGENET1K_V1", "ResNet18_Weights.IMAGENET1K_V1",
                                     models.ResNet18_Weights.IMAGENET1K_V1,
                                     models.ResNet18_Weights.DEFAULT])
def test_weights_are_read_from_the_hub_cache(tv, hub, weights):
    import torch

    torch.manual_seed(0)
    x = np.random.default_rng(3).standard_normal((2, 3, 64, 64)).astype(np.float32)
    source = _calibrated(torch, tv.models.resnet18(), torch.from_numpy(x))
    torch.save(source.state_dict(), hub / "resnet18-f37072fd.pth")
    want_model = tv.models.resnet18(weights=weights if isinstance(weights, str)
                                    else "IMAGENET1K_V1").eval()
    model = models.resnet18(weights=weights).eval()
    with torch.no_grad():
        want = want_model(torch.from_numpy(x)).numpy()
    with numtorch.no_grad():
        got = model(numtorch.tensor(x))
    assert got.dtype == numtorch.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-4 * np.abs(want).max())


def test_densenet_checkpoints_with_the_published_key_names_load(tv, hub):
    import torch

    torch.manual_seed(0)
    x = np.random.default_rng(4).standard_normal((2, 3, 64, 64)).astype(np.float32)
    source = _calibrated(torch, tv.models.densenet121(), torch.from_numpy(x))
    # as published: layer names from before they were attributes, no num_batches_tracked
    old_style = {k.replace("norm1.", "norm.1.").replace("conv2.", "conv.2.")
                 if "denselayer" in k else k: v for k, v in source.state_dict().items()
                 if not k.endswith("num_batches_tracked")}
    assert any(".norm.1." in k for k in old_style)
    torch.save(old_style, hub / "densenet121-a639ec97.pth")
    model = models.densenet121(weights=models.DenseNet121_Weights.DEFAULT).eval()
    with torch.no_grad():
        want = source(torch.from_numpy(x)).numpy()
    with numtorch.no_grad():
        got = model(numtorch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * np.abs(want).max())


def test_missing_weights_offline_name_the_file_to_place(hub):
    with pytest.raises(RuntimeError) as error:
        models.mobilenet_v2(weights="DEFAULT", progress=False)
    message = str(error.value)
    assert "mobilenet_v2-7ebf99e0.pth" in message and str(hub) in message
    assert not list(hub.iterdir())  # no partial file left behind


def test_weights_arguments_errors_match_torchvision(tv):
    cases = [
        (lambda m: m.resnet18(weights="FOO"), KeyError),
        (lambda m: m.resnet18(weights=m.ResNet18_Weights.DEFAULT, num_classes=10), ValueError),
        (lambda m: m.resnet18(weights=m.VGG11_Weights.DEFAULT), TypeError),
        (lambda m: m.get_model("foo"), ValueError),
        (lambda m: m.get_weight("ResNet18"), ValueError),
    ]
    for call, error in cases:
        with pytest.raises(error) as want:
            call(tv.models)
        with pytest.raises(error) as got:
            call(models)
        assert str(got.value) == str(want.value)


def test_weights_enums_and_registry_helpers_match_torchvision(tv):
    for name in ALL:
        want, got = tv.models.get_model_weights(name), models.get_model_weights(name)
        assert got.__name__ == want.__name__
        assert [m.name for m in got] == [m.name for m in want]
        assert got.DEFAULT.name == want.DEFAULT.name
        for member in got:
            twin = want[member.name]
            assert member.url == twin.url and repr(member) == repr(twin)
            assert member.meta["num_params"] == twin.meta["num_params"]
            assert member.meta["min_size"] == twin.meta["min_size"]
            assert repr(member.transforms()) == repr(twin.transforms())
    with pytest.raises(KeyError, match="numtorch does not ship torchvision's list"):
        models.ResNet18_Weights.DEFAULT.meta["categories"]
    assert models.get_weight("ResNet50_Weights.IMAGENET1K_V2") is \
        models.ResNet50_Weights.IMAGENET1K_V2
    assert type(models.get_model("squeezenet1_1", num_classes=3)) is models.SqueezeNet
    assert models.list_models(include="resnet*", exclude="*50") == ["resnet18", "resnet34"]


def test_weights_transforms_preprocess_like_torchvision(tv):
    import torch
    from PIL import Image

    pixels = np.random.default_rng(5).integers(0, 256, (300, 260, 3), dtype=np.uint8)
    pil = Image.fromarray(pixels)
    want_t = tv.models.ResNet50_Weights.IMAGENET1K_V2.transforms()
    got_t = models.ResNet50_Weights.IMAGENET1K_V2.transforms()
    want, got = want_t(pil).numpy(), got_t(pil).numpy()
    assert got.shape == want.shape == (3, 224, 224)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    tensor = pixels.transpose(2, 0, 1).copy()
    want = want_t(torch.from_numpy(tensor)).numpy()
    got = got_t(numtorch.tensor(tensor)).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=0.02)  # uint8 resize: one grey level


@pytest.mark.parametrize("call", [
    lambda m: m.resnet18(pretrained=False),
    lambda m: m.squeezenet1_1(False),
    lambda m: m.alexnet(None, False),
    lambda m: m.mobilenet_v2(pretrained=True),
    lambda m: m.resnet50(True),
    lambda m: m.densenet121(weights="legacy"),
    lambda m: m.resnet18(pretrained=True, weights=None),
])
def test_pre_0_13_interface_warns_like_torchvision(tv, hub, call):
    import warnings

    def outcome(module):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = call(module)
            except Exception as exc:  # noqa: BLE001 - compared below
                error = (type(exc).__name__, str(exc).split(" ")[-1])
                model = None
            else:
                error = None
        return ([str(w.message) for w in caught], error,
                None if model is None else type(model).__name__)

    want, got = outcome(tv.models), outcome(models)
    assert got[0] == want[0]
    # pretrained weights: both look for the file in the (empty) hub and cannot download it
    # (torchvision lets the URLError through, numtorch names the file to place)
    assert (got[1] is None) == (want[1] is None)
    assert got[2] == want[2]
