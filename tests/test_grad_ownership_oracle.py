"""Programs that try to catch a kept (not copied) gradient being shared: every ``.grad`` and
every gradient a hook kept must equal PyTorch's after later backwards and in-place updates."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")

LIBS = (numtorch, torch)


def _np(t):
    return t.detach().numpy().copy()


def _run(program):
    """Runs ``program(lib)`` for numtorch and torch and compares every returned tensor."""
    ours, theirs = program(numtorch), program(torch)
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-6, err_msg=f"output {i}")


def _leaf(lib, n=6, scale=1.0):
    return lib.tensor(np.linspace(-1.0, 2.0, n, dtype=np.float32) * scale, requires_grad=True)


def test_a_hook_that_keeps_the_gradient_of_an_identity_path():
    def program(lib):
        x = _leaf(lib)
        kept = []
        y = x + 0  # AddBackward0 hands its incoming gradient to x unchanged
        y.register_hook(lambda g: kept.append(g))
        (y * 3).sum().backward()
        x.grad.mul_(10)  # an optimizer scaling .grad in place
        return [x.grad, kept[0]]

    _run(program)


def test_a_retained_grad_on_the_path_to_a_leaf_over_two_backwards():
    def program(lib):
        x = _leaf(lib)
        y = x.clone()
        y.retain_grad()
        z = (y * y).sum()
        z.backward(retain_graph=True)
        first_y = y.grad.clone()
        z.backward()
        x.grad.add_(1)
        return [x.grad, y.grad, first_y]

    _run(program)


def test_a_retained_grad_that_is_the_leaf_gradient_itself():
    def program(lib):
        x = _leaf(lib)
        y = x.view(2, 3)
        y.retain_grad()
        (y.exp() * 2).sum().backward()
        x.grad.zero_()
        return [x.grad, y.grad]

    _run(program)


def test_a_view_of_one_graph_buffer_reaching_a_leaf_whole():
    def program(lib):
        x = _leaf(lib)
        w = _leaf(lib, scale=0.5)
        kept = []
        s = lib.stack([x * w])  # the gradient of x*w is a view of the whole stacked gradient
        s.register_hook(lambda g: kept.append(g))
        (s * s).sum().backward()
        w.grad.add_(100)
        x.grad.sub_(7)
        return [x.grad, w.grad, kept[0]]

    _run(program)


def test_a_reshaped_gradient_kept_by_an_intermediate_hook():
    def program(lib):
        x = _leaf(lib)
        kept = []
        y = x.reshape(3, 2) * 1.0
        z = y.reshape(6)
        z.register_hook(lambda g: kept.append(g.view(3, 2)))
        (z.sin()).sum().backward()
        x.grad.mul_(-1)
        return [x.grad, kept[0]]

    _run(program)


def test_accumulation_over_two_backwards_with_a_gradient_kept_after_the_first():
    def program(lib):
        x = _leaf(lib)
        (x * x).sum().backward()
        first = x.grad  # the same tensor is accumulated into by the next backward
        snapshot = first.clone()
        (x * 3).sum().backward()
        return [x.grad, first, snapshot]

    _run(program)


def test_a_gradient_the_user_passed_through_a_clone():
    def program(lib):
        x = _leaf(lib)
        g = lib.tensor(np.arange(6, dtype=np.float32))
        x.clone().backward(g)
        x.grad.add_(5)
        x.clone().backward(g)
        return [x.grad, g]

    _run(program)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
def test_create_graph_gradients_and_a_second_order_backward():
    def program(lib):
        x = _leaf(lib)
        y = (x ** 3).sum()
        (gx,) = lib.autograd.grad(y, x, create_graph=True)
        y2 = (x ** 2).sum()
        y2.backward(create_graph=True)
        first = x.grad.clone()
        gx.sum().backward()
        return [gx, first, x.grad]

    _run(program)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
def test_create_graph_backward_then_plain_backward_accumulates():
    def program(lib):
        x = _leaf(lib)
        (x.sin().sum()).backward(create_graph=True)
        g1 = x.grad
        (x * 2).sum().backward()
        return [g1, x.grad]

    _run(program)


def test_a_post_accumulate_hook_reads_grad_then_the_optimizer_mutates_it():
    def program(lib):
        lin = lib.nn.Linear(4, 3)
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)))
            lin.bias.fill_(0.25)
        seen = []
        lin.weight.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
        opt = lib.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
        inp = lib.tensor(np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 4))
        out = []
        for _ in range(3):
            opt.zero_grad(set_to_none=False)
            lin(inp).pow(2).sum().backward()
            out.append(lin.weight.grad.clone())
            opt.step()
            lin.weight.grad.mul_(0.5)
        return out + seen + [lin.weight, lin.bias, lin.bias.grad]

    _run(program)


def test_a_tensor_hook_keeps_the_grad_the_optimizer_then_zeroes():
    def program(lib):
        x = _leaf(lib)
        kept = []
        h = x * 2  # the gradient of h flows to x as 2*g, fresh
        h.register_hook(lambda g: kept.append(g))
        h2 = h + 0
        h2.sum().backward()
        opt = lib.optim.SGD([x], lr=0.5)
        opt.step()
        opt.zero_grad(set_to_none=False)
        return [x, x.grad, kept[0]]

    _run(program)


def test_two_leaves_sharing_one_gradient_then_in_place_updates():
    def program(lib):
        a = _leaf(lib)
        b = _leaf(lib, scale=2.0)
        (a + b).sum().backward()
        a.grad.add_(3)
        c = _leaf(lib, scale=3.0)
        d = c.view(6)
        (d - a.detach()).mul(2).backward(lib.ones(6))
        c.grad.mul_(4)
        return [a.grad, b.grad, c.grad]

    _run(program)


def test_custom_function_returning_its_incoming_gradient_kept_by_the_caller():
    def program(lib):
        kept = []

        class Ident(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x.clone()

            @staticmethod
            def backward(ctx, g):
                kept.append(g)
                return g

        x = _leaf(lib)
        (Ident.apply(x) * 4).sum().backward()
        x.grad.add_(1)
        return [x.grad, kept[0]]

    _run(program)


def test_custom_function_returning_a_saved_tensor_as_gradient():
    def program(lib):
        class Weird(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, w):
                ctx.save_for_backward(w)
                return x * 1.0

            @staticmethod
            def backward(ctx, g):
                (w,) = ctx.saved_tensors
                return w, None

        x = _leaf(lib)
        w = lib.tensor(np.ones(6, dtype=np.float32) * 3)
        Weird.apply(x, w).sum().backward()
        x.grad.add_(1)
        return [x.grad, w]

    _run(program)


@pytest.mark.parametrize("make", [
    lambda lib, ps: lib.optim.Adam(ps, lr=0.05),
    lambda lib, ps: lib.optim.AdamW(ps, lr=0.05, weight_decay=0.1),
    lambda lib, ps: lib.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
])
def test_training_steps_over_kept_gradients(make):
    def program(lib):
        lin = lib.nn.Linear(4, 3)
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)))
            lin.bias.fill_(0.25)
        opt = make(lib, lin.parameters())
        inp = lib.tensor(np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 4))
        grads = []
        for _ in range(4):
            opt.zero_grad()  # set_to_none: each step's .grad is a fresh (kept) gradient
            lin(inp).tanh().pow(2).sum().backward()
            grads.append(lin.weight.grad)
            opt.step()
        return grads + [lin.weight, lin.bias]

    _run(program)


def test_a_grad_the_user_assigned_is_accumulated_into_in_place():
    def program(lib):
        x = _leaf(lib)
        mine = lib.ones(6)
        x.grad = mine
        (x * x).sum().backward()  # accumulates into the user's tensor, as PyTorch does
        x.grad = None
        (x * 5).sum().backward()
        x.grad.add_(2)
        return [mine, x.grad]

    _run(program)


def test_backward_with_inputs_and_a_grad_then_an_accumulating_backward():
    def program(lib):
        x = _leaf(lib)
        w = _leaf(lib, scale=0.3)
        (gw,) = lib.autograd.grad((x * w).sum(), w)
        (x * w).pow(2).sum().backward(inputs=[x])
        first = x.grad
        (x * w).sum().backward()
        gw.mul_(3)
        return [gw, first, x.grad, w.grad]

    _run(program)
