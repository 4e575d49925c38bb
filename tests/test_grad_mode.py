"""Grad mode and inference mode: per thread, nesting, inference tensors (against torch)."""

import threading

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")


def _both(fn):
    """Run ``fn(lib)`` on numtorch and torch; return both results (exceptions as (class, msg))."""
    out = []
    for lib in (numtorch, torch):
        try:
            out.append(fn(lib))
        except Exception as e:  # noqa: BLE001 - compared below
            out.append((type(e).__name__, str(e)))
    return out


def test_training_thread_not_disturbed_by_no_grad_thread():
    errors = []
    start = threading.Barrier(2)

    def train():
        try:
            start.wait()
            w = numtorch.ones(50, requires_grad=True)
            for _ in range(300):
                (w * 2).sum().backward()
            np.testing.assert_allclose(w.grad.numpy(), np.full(50, 600.0))
        except Exception as e:  # noqa: BLE001 - reported in the main thread
            errors.append(e)

    def evaluate():
        try:
            start.wait()
            x = numtorch.ones(50, requires_grad=True)
            for _ in range(300):
                with numtorch.no_grad():
                    assert not (x * 2).requires_grad
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=train), threading.Thread(target=evaluate)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_overlapping_no_grad_blocks_restore_each_thread():
    inside = threading.Barrier(2)
    leave = threading.Barrier(2)
    seen = []

    def worker(delay_exit):
        with numtorch.no_grad():
            inside.wait()
            seen.append(numtorch.is_grad_enabled())
            if delay_exit:
                leave.wait()
        if not delay_exit:
            leave.wait()
        seen.append(numtorch.is_grad_enabled())

    threads = [threading.Thread(target=worker, args=(d,)) for d in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == [False, False, True, True]
    assert numtorch.is_grad_enabled()


def test_new_thread_starts_with_defaults():
    result = {}

    def probe():
        result["grad"] = numtorch.is_grad_enabled()
        result["inference"] = numtorch.is_inference_mode_enabled()

    with numtorch.no_grad(), numtorch.inference_mode():
        t = threading.Thread(target=probe)
        t.start()
        t.join()
    assert result == {"grad": True, "inference": False}


@pytest.mark.parametrize("outer", ["none", "no_grad", "enable_grad"])
def test_inference_mode_nesting_matches_torch(outer):
    def run(lib):
        ctx = {"none": None, "no_grad": lib.no_grad, "enable_grad": lib.enable_grad}[outer]
        states = []

        def record():
            states.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))

        with ctx() if ctx else lib.inference_mode(False):
            record()
            with lib.inference_mode():
                record()
                with lib.inference_mode(False):
                    record()
                    with lib.inference_mode(True):
                        record()
                    record()
                record()
            record()
        return states

    a, b = _both(run)
    assert a == b


def test_inference_mode_as_decorator():
    def run(lib):
        @lib.inference_mode()
        def f(x):
            return x * 2, lib.is_inference_mode_enabled()

        @lib.inference_mode
        def g(x):
            return x * 2

        y, flag = f(lib.ones(2))
        return (flag, y.is_inference(), g(lib.ones(2)).is_inference(),
                lib.is_inference_mode_enabled())

    a, b = _both(run)
    assert a == b


def test_bare_no_grad_decorator():
    @numtorch.no_grad
    def f(x):
        return x * 2

    assert not f(numtorch.ones(2, requires_grad=True)).requires_grad


def test_inference_tensors_and_views():
    def run(lib):
        normal = lib.ones(3)
        with lib.inference_mode():
            inf = lib.ones(3)
            view_of_normal = normal[:2]
            detached = normal.detach()
            computed = normal * 2
            view_of_inf = inf[1:]
        outside = inf * 2
        tensors = (normal, inf, view_of_normal, detached, computed, view_of_inf, outside,
                   inf.clone())
        return [t.is_inference() for t in tensors]

    a, b = _both(run)
    assert a == b


@pytest.mark.parametrize("case", ["add_", "zero_", "setitem", "requires_grad_", "mul_saved",
                                  "add_unsaved", "inside_inplace"])
def test_inference_tensor_errors_match_torch(case):
    def run(lib):
        with lib.inference_mode():
            x = lib.ones(3)
        w = lib.ones(3, requires_grad=True)
        if case == "add_":
            x.add_(1)
        elif case == "zero_":
            x.zero_()
        elif case == "setitem":
            x[0] = 2.0
        elif case == "requires_grad_":
            x.requires_grad_()
        elif case == "mul_saved":
            (x * w).sum().backward()
            return w.grad.tolist()
        elif case == "add_unsaved":
            (x + w).sum().backward()
            return w.grad.tolist()
        elif case == "inside_inplace":
            with lib.inference_mode():
                x.add_(1)
                x.requires_grad_()
            return x.tolist(), x.requires_grad
        return x.tolist()

    a, b = _both(run)
    assert a == b


def test_inference_tensor_stays_usable_after_refused_inplace():
    with numtorch.inference_mode():
        x = numtorch.ones(3)
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor"):
        x.mul_(5)
    assert x.tolist() == [1.0, 1.0, 1.0]
    assert (x + 1).tolist() == [2.0, 2.0, 2.0]
