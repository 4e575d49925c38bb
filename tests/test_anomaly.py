"""Anomaly mode: NaN detection in backward and the forward trace, against torch."""

import warnings

import pytest

import numtorch

torch = pytest.importorskip("torch")


def _nan_backward(lib, check_nan=True):
    """A MulBackward0 whose gradient for ``x`` is NaN (``w`` holds a NaN)."""
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    w = lib.tensor([float("nan"), 1.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with lib.autograd.detect_anomaly(check_nan=check_nan):
                y = x * w  # the forward line the trace must show
                y.sum().backward()
            error = None
        except RuntimeError as e:
            error = str(e)
    return error, caught, x


@pytest.mark.parametrize("lib_name", ["numtorch", "torch"])
def test_nan_in_backward_raises_and_warns_forward_trace(lib_name):
    lib = numtorch if lib_name == "numtorch" else torch
    error, caught, _ = _nan_backward(lib)
    assert error == "Function 'MulBackward0' returned nan values in its 0th output."
    messages = [str(w.message) for w in caught if w.category is UserWarning]
    assert messages[0].startswith("Anomaly Detection has been enabled.")
    trace = [m for m in messages if m.startswith("Error detected in MulBackward0.")]
    assert len(trace) == 1
    assert "Traceback of forward call that caused the error:" in trace[0]
    assert "y = x * w  # the forward line the trace must show" in trace[0]
    assert __file__ in trace[0]


def test_nan_message_matches_torch_for_second_output():
    def run(lib):
        x = lib.tensor([1.0, 2.0])
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        nan = lib.tensor([float("nan"), 1.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            with lib.autograd.detect_anomaly():
                try:
                    ((x * nan) * w).sum().backward()
                except RuntimeError as e:
                    return str(e)
        return None

    assert run(numtorch) == run(torch) is not None


def test_check_nan_false_lets_nan_through():
    for lib in (numtorch, torch):
        error, _, x = _nan_backward(lib, check_nan=False)
        assert error is None
        assert x.grad.isnan().tolist() == [True, False]


def test_error_in_custom_backward_shows_forward_trace():
    class Bad(numtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("broken backward")

    x = numtorch.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        mode = numtorch.autograd.detect_anomaly()
    with mode:
        y = Bad.apply(x)  # forward of Bad
        trace = r"(?s)Error detected in BadBackward\..*forward of Bad"
        with pytest.warns(UserWarning, match=trace):
            with pytest.raises(ValueError, match="broken backward"):
                y.sum().backward()


def test_set_detect_anomaly_function_and_context():
    for lib in (numtorch, torch):
        assert not lib.is_anomaly_enabled()
        lib.autograd.set_detect_anomaly(True, check_nan=False)
        try:
            assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
        finally:
            lib.autograd.set_detect_anomaly(False)
        assert not lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
        with lib.autograd.set_detect_anomaly(True):
            assert lib.is_anomaly_enabled()
        assert not lib.is_anomaly_enabled()


def test_trace_recorded_only_while_enabled():
    x = numtorch.ones(2, requires_grad=True)
    with numtorch.autograd.set_detect_anomaly(True):
        y = x * 3
    z = x * 3
    assert "x * 3" in "".join(y.grad_fn.metadata["traceback_"])
    assert "traceback_" not in z.grad_fn.metadata
    assert numtorch.Tensor.__dict__["grad_fn"] is None  # nothing left on the hot path
    y.sum().backward()  # no NaN: runs normally, nothing raised
    assert x.grad.tolist() == [3.0, 3.0]
