"""Checks added on review of nn/ and the ops it leans on: layering and shared helpers."""

import ast
import pathlib

import pytest

import numtorch as torch
import numtorch.nn.functional as F

OPS = pathlib.Path(torch.__file__).parent / "ops"


def test_ops_do_not_import_nn():
    # Layers call only downward: these ops modules (the ones nn.functional re-exports) may not
    # import from numtorch.nn.
    for name in ("activation", "attention", "dropout", "loss", "normalization", "padding"):
        path = OPS / f"{name}.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not (node.level >= 2 and node.module.split(".")[0] == "nn"), path.name


def test_dropout_is_the_ops_level_function():
    from numtorch.ops import dropout as ops_dropout
    assert F.dropout is ops_dropout.dropout
    assert F.feature_alpha_dropout is ops_dropout.feature_alpha_dropout


def test_attention_dropout_all():
    q = torch.randn(2, 3, 4)
    out = F.scaled_dot_product_attention(q, q, q, dropout_p=1.0)
    assert out.abs().sum().item() == 0.0


@pytest.mark.parametrize("make", [
    lambda **kw: torch.nn.BatchNorm1d(3, **kw),
    lambda **kw: torch.nn.InstanceNorm2d(3, **kw),
    lambda **kw: torch.nn.LayerNorm(3, **kw),
    lambda **kw: torch.nn.GroupNorm(1, 3, **kw),
    lambda **kw: torch.nn.Embedding(3, 2, **kw),
    lambda **kw: torch.nn.PReLU(3, **kw),
])
def test_layers_check_device(make):
    # Every layer with a device= argument accepts the CPU and refuses other devices.
    make(device="cpu")
    with pytest.raises(RuntimeError, match="CPU only"):
        make(device="cuda")


def test_norm_layers_follow_default_dtype():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        bn, ln = torch.nn.BatchNorm2d(2), torch.nn.LayerNorm(2, bias=False)
    finally:
        torch.set_default_dtype(old)
    assert bn.weight.dtype == bn.running_mean.dtype == ln.weight.dtype == torch.float64
    assert ln.bias is None and list(bn.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert torch.nn.PReLU(dtype=torch.float64).weight.dtype == torch.float64
    half = torch.nn.GroupNorm(1, 2, dtype=torch.float16, affine=False)
    assert half.weight is None and list(half.state_dict()) == []


def test_pad_and_nearest_build_one_hot_maps_only_for_backward(monkeypatch):
    # A gather's one-hot maps are (out, in) per axis (quadratic in a long 1-D signal): only a
    # recorded backward needs them.
    from numtorch.ops import padding

    built = []
    real = padding._one_hot
    monkeypatch.setattr(padding, "_one_hot", lambda *a: built.append(a) or real(*a))
    x = torch.randn(1, 2, 6)
    F.pad(x, (2, 2), mode="reflect")
    F.interpolate(x, scale_factor=2)
    with torch.no_grad():
        F.pad(x.requires_grad_(), (1, 1), mode="replicate")
    assert built == []
    F.pad(x, (2, 2), mode="reflect").sum().backward()
    assert len(built) == 1 and x.grad is not None


@pytest.mark.parametrize("name", ["silu", "mish", "logsigmoid", "softplus", "gelu", "sigmoid",
                                  "elu", "selu", "hardswish"])
@pytest.mark.parametrize("value", [-2.5, 0.3])
def test_activations_of_0d_tensors_match_torch(name, value):
    # NumPy gives scalars for 0-d arithmetic; the kernels' out= steps used to fail on them.
    real = pytest.importorskip("torch")
    x = torch.tensor(value, requires_grad=True)
    y = getattr(F, name)(x)
    y.backward()
    rx = real.tensor(value, requires_grad=True)
    ry = getattr(real.nn.functional, name)(rx)
    ry.backward()
    assert y.shape == ry.shape == ()
    assert abs(y.item() - ry.item()) < 1e-6 and abs(x.grad.item() - rx.grad.item()) < 1e-6


@pytest.mark.parametrize("loss", ["binary_cross_entropy_with_logits", "soft_margin_loss"])
def test_logit_losses_of_0d_tensors_match_torch(loss):
    real = pytest.importorskip("torch")
    x = torch.tensor(-0.7, requires_grad=True)
    getattr(F, loss)(x, torch.tensor(1.0)).backward()
    rx = real.tensor(-0.7, requires_grad=True)
    getattr(real.nn.functional, loss)(rx, real.tensor(1.0)).backward()
    assert abs(x.grad.item() - rx.grad.item()) < 1e-6
