"""``torch.cuda.amp``'s deprecated spellings, as PyTorch's CPU-only machines answer them."""

import warnings

import pytest

import numtorch

torch = pytest.importorskip("torch")


def _build(lib, what, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        made = getattr(lib.cuda.amp, what)(**kwargs)
    return made, [(w.category.__name__, str(w.message)) for w in caught]


@pytest.mark.parametrize("enabled", [False, True])
def test_grad_scaler_is_disabled_with_torchs_warnings(enabled):
    ours, our_warnings = _build(numtorch, "GradScaler", enabled=enabled)
    theirs, their_warnings = _build(torch, "GradScaler", enabled=enabled)
    assert ours.is_enabled() is theirs.is_enabled() is False
    assert our_warnings == their_warnings
    assert isinstance(ours, numtorch.amp.GradScaler)


def test_disabled_scaler_steps_the_optimizer_unchanged():
    """nanoGPT's pattern: GradScaler(enabled=False) around a plain training step."""
    w = numtorch.nn.Parameter(numtorch.tensor([1.0, -2.0]))
    opt = numtorch.optim.SGD([w], lr=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scaler = numtorch.cuda.amp.GradScaler(enabled=False)
    scaler.scale((w * w).sum()).backward()
    scaler.step(opt)
    scaler.update()
    assert w.tolist() == [0.0, 0.0]


def test_autocast_is_a_disabled_context_with_torchs_warning():
    ours, our_warnings = _build(numtorch, "autocast", enabled=False)
    theirs, their_warnings = _build(torch, "autocast", enabled=False)
    assert our_warnings == their_warnings
    with ours:
        y = numtorch.ones(2, 2) @ numtorch.ones(2, 2)
    assert y.dtype is numtorch.float32
