"""nn.Module, containers, Linear/Flatten/Dropout/Embedding, the functional forms and nn.utils,
each checked against PyTorch running the same code."""

import copy
import math
import pickle
import re
from collections import OrderedDict

import numpy as np
import pytest

import numtorch
import numtorch.nn as nnn
import numtorch.nn.functional as NF

torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional

LIBS = [numtorch, torch]


def both(fn):
    """Run ``fn(lib)`` for numtorch and torch; return the pair of results."""
    return fn(numtorch), fn(torch)


def err(fn):
    """(exception class, message) raised by ``fn()``."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class is what we compare
        return type(e), str(e)
    return None, None


def mask_addresses(text):
    return re.sub(r"0x[0-9a-f]+", "0x?", text)


# ------------------------------------------------------------------------------ models
def make_nested(lib):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.register_buffer("running", lib.zeros(4))
            self.register_buffer("scratch", lib.ones(2), persistent=False)
            self.scale = nn.Parameter(lib.ones(1))

        def forward(self, x):
            return self.fc(x) * self.scale + self.running

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Block()
            self.body = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1), nn.Linear(4, 2))
            self.heads = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 1)])
            self.table = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.Identity()})
            self.shared = self.body[0]  # the same module twice
            self.plist = nn.ParameterList([nn.Parameter(lib.zeros(2))])
            self.empty = None

        def forward(self, x):
            return self.heads[1](self.heads[0](self.body(self.first(x))))

    return Net()


def test_parameter_and_module_order_and_names():
    a, b = both(make_nested)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    assert [n for n, _ in a.named_buffers()] == [n for n, _ in b.named_buffers()]
    assert [n for n, _ in a.named_modules()] == [n for n, _ in b.named_modules()]
    assert [n for n, _ in a.named_children()] == [n for n, _ in b.named_children()]
    assert len(list(a.parameters())) == len(list(b.parameters()))
    assert len(list(a.modules())) == len(list(b.modules()))
    for kw in (dict(remove_duplicate=False), dict(prefix="m"), dict(recurse=False)):
        assert ([n for n, _ in a.named_parameters(**kw)]
                == [n for n, _ in b.named_parameters(**kw)])
    assert ([n for n, _ in a.named_modules(remove_duplicate=False, prefix="root")]
            == [n for n, _ in b.named_modules(remove_duplicate=False, prefix="root")])
    assert [p.shape for p in a.parameters()] == [tuple(p.shape) for p in b.parameters()]


def test_state_dict_keys_metadata_and_values_share_storage():
    a, b = both(make_nested)
    sa, sb = a.state_dict(), b.state_dict()
    assert type(sa) is OrderedDict
    assert list(sa) == list(sb)
    assert dict(sa._metadata) == dict(sb._metadata)
    assert list(a.state_dict(prefix="p.")) == list(b.state_dict(prefix="p."))
    w = sa["first.fc.weight"]
    assert not w.requires_grad and not isinstance(w, nnn.Parameter)
    assert w._data is a.first.fc.weight._data or np.shares_memory(w._data, a.first.fc.weight._data)
    kept = a.state_dict(keep_vars=True)["first.fc.weight"]
    assert kept is a.first.fc.weight


def test_load_state_dict_roundtrip_in_place_and_from_torch():
    a, b = both(make_nested)
    a.eval(), b.eval()
    weight = a.first.fc.weight
    result = a.load_state_dict({k: numtorch.tensor(v.numpy()) for k, v in b.state_dict().items()})
    assert repr(result) == "<All keys matched successfully>"
    assert a.first.fc.weight is weight  # copied in place
    np.testing.assert_array_equal(weight.detach().numpy(), b.first.fc.weight.detach().numpy())
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(a(numtorch.tensor(x)).detach().numpy(),
                               b(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def _load_errors(lib, sd_edit, strict=True):
    net = make_nested(lib)
    sd = net.state_dict()
    sd_edit(lib, sd)
    return err(lambda: net.load_state_dict(sd, strict=strict))


@pytest.mark.parametrize("edit", [
    lambda lib, sd: sd.pop("first.fc.bias"),
    lambda lib, sd: sd.update({"extra.weight": lib.zeros(1), "first.bogus": lib.zeros(1)}),
    lambda lib, sd: (sd.pop("body.2.weight"), sd.update({"nope": lib.zeros(1)})),
    lambda lib, sd: sd.update({"first.fc.weight": lib.zeros(2, 3)}),
    lambda lib, sd: sd.update({"first.fc.weight": lib.zeros(2, 3), "zzz": lib.zeros(1)}),
    lambda lib, sd: sd.update({"first.fc.weight": 3}),
])
def test_load_state_dict_errors_match_torch(edit):
    a, b = both(lambda lib: _load_errors(lib, edit))
    assert a == b


def test_load_state_dict_non_strict_returns_incompatible_keys():
    def run(lib):
        net = make_nested(lib)
        sd = net.state_dict()
        sd.pop("first.fc.bias")
        sd["x.y"] = lib.zeros(1)
        res = net.load_state_dict(sd, strict=False)
        return repr(res), res.missing_keys, res.unexpected_keys
    a, b = both(run)
    assert a == b
    assert both(lambda lib: err(lambda: lib.nn.Linear(1, 1).load_state_dict([])))[0][0] is TypeError


def test_load_state_dict_assign_replaces_parameters():
    lin = nnn.Linear(2, 2)
    new = numtorch.ones(2, 2)
    lin.load_state_dict({"weight": new, "bias": numtorch.zeros(2)}, assign=True)
    assert isinstance(lin.weight, nnn.Parameter) and lin.weight.requires_grad
    assert lin.weight._data is new._data


def test_load_state_dict_keeps_optimizer_working():
    lin = nnn.Linear(2, 1)
    opt = numtorch.optim.SGD(lin.parameters(), lr=0.1) if hasattr(numtorch, "optim") else None
    lin.load_state_dict({"weight": numtorch.ones(1, 2), "bias": numtorch.zeros(1)})
    if opt is not None:
        lin(numtorch.ones(1, 2)).sum().backward()
        opt.step()
        np.testing.assert_allclose(lin.weight.detach().numpy(), [[0.9, 0.9]], rtol=1e-6)


# ------------------------------------------------------------------- registration errors
def _misuse_cases():
    def fresh(lib):
        class Net(lib.nn.Module):
            pass
        return Net()

    cases = {
        "getattr": lambda lib, n: n.foo,
        "tensor over parameter": lambda lib, n: (
            setattr(n, "w", lib.nn.Parameter(lib.ones(1))), setattr(n, "w", lib.ones(1))),
        "dotted parameter": lambda lib, n: n.register_parameter("a.b", None),
        "empty parameter": lambda lib, n: n.register_parameter("", None),
        "int parameter name": lambda lib, n: n.register_parameter(3, None),
        "plain tensor parameter": lambda lib, n: n.register_parameter("q", lib.ones(2)),
        "non-leaf parameter": lambda lib, n: n.register_parameter(
            "q", lib.nn.Parameter(lib.ones(1)) * 2),
        "empty buffer": lambda lib, n: n.register_buffer("", None),
        "dotted buffer": lambda lib, n: n.register_buffer("a.b", None),
        "int buffer": lambda lib, n: n.register_buffer("x", 3),
        "existing attribute": lambda lib, n: (setattr(n, "w", 1), n.register_buffer("w", None)),
        "module int": lambda lib, n: n.add_module("q", 3),
        "dotted module": lambda lib, n: n.add_module("a.b", None),
        "empty module": lambda lib, n: n.add_module("", None),
        "int over module": lambda lib, n: (setattr(n, "m", lib.nn.Linear(1, 1)),
                                           setattr(n, "m", 3)),
        "int over buffer": lambda lib, n: (n.register_buffer("bb", lib.ones(1)),
                                           setattr(n, "bb", 3)),
        "no forward": lambda lib, n: n(),
        "train(1)": lambda lib, n: n.train(1),
        "to(int64)": lambda lib, n: n.to(lib.int64),
        "get_submodule": lambda lib, n: (setattr(n, "m", lib.nn.Linear(1, 1)),
                                         n.get_submodule("m.zz")),
        "get_submodule top": lambda lib, n: n.get_submodule("xx"),
        "get_parameter buffer": lambda lib, n: (n.register_buffer("bb", lib.ones(1)),
                                                n.get_parameter("bb")),
        "get_buffer param": lambda lib, n: (setattr(n, "w", lib.nn.Parameter(lib.ones(1))),
                                            n.get_buffer("w")),
        "init kwargs": lambda lib, n: lib.nn.Module(foo=1),
        "delattr missing": lambda lib, n: delattr(n, "nothing"),
    }
    return fresh, cases


@pytest.mark.parametrize("case", list(_misuse_cases()[1]))
def test_misuse_errors_match_torch(case):
    fresh, cases = _misuse_cases()
    a, b = both(lambda lib: err(lambda: cases[case](lib, fresh(lib))))
    assert a[0] is b[0] and a[0] is not None
    assert a[1] == b[1]


def test_setattr_reassignment_rules():
    def run(lib):
        nn = lib.nn
        m = nn.Module()
        m.w = nn.Parameter(lib.ones(1))
        m.w = None  # allowed: parameter slot becomes None
        m.register_buffer("b", lib.ones(2))
        m.b = lib.zeros(2)  # plain tensor replaces a buffer
        m.sub = nn.Linear(1, 1)
        m.sub = None
        m.p = nn.Parameter(lib.ones(1))
        del m.p
        m.p = nn.Linear(1, 1)
        m.x = 3
        m.x = nn.Parameter(lib.ones(1))  # a parameter replaces an attribute
        m.register_buffer("np_", lib.ones(1), persistent=False)
        m.np_ = lib.zeros(1)  # stays non-persistent
        del m.b
        return (list(m._parameters), list(m._buffers), list(m._modules), list(m.state_dict()),
                "x" in m.__dict__, m.w, m.sub)
    assert both(run)[0] == both(run)[1]


def test_buffer_marker_registers_buffer():
    m = nnn.Module()
    m.rm = nnn.Buffer(numtorch.zeros(3))
    m.tmp = nnn.Buffer(numtorch.zeros(1), persistent=False)
    assert list(m._buffers) == ["rm", "tmp"] and list(m.state_dict()) == ["rm"]


def test_dir_contains_registered_names():
    a, b = both(make_nested)
    assert set(dir(a)) >= {"first", "body", "heads", "plist", "forward", "training"}
    assert "0" not in dir(a.body) and "0" not in dir(b.body)
    assert "running" in dir(a.first)


# --------------------------------------------------------------------- modes and grads
def test_train_eval_propagate_and_requires_grad():
    a, b = both(make_nested)
    for m in (a, b):
        m.eval()
    assert [x.training for x in a.modules()] == [x.training for x in b.modules()]
    assert not any(x.training for x in a.modules())
    a.train()
    assert all(x.training for x in a.modules())
    assert a.requires_grad_(False) is a
    assert not any(p.requires_grad for p in a.parameters())


def test_zero_grad_and_apply():
    net = nnn.Sequential(nnn.Linear(3, 2), nnn.Linear(2, 1))
    net(numtorch.ones(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Linear", "Sequential"]


def test_dtype_moves_keep_parameter_identity():
    lin = nnn.Linear(3, 2)
    lin.register_buffer("count", numtorch.zeros(1, dtype=numtorch.int64))
    w = lin.weight
    lin(numtorch.ones(1, 3)).sum().backward()
    assert lin.double() is lin and lin.weight is w
    assert w.dtype == numtorch.float64 and w.grad.dtype == numtorch.float64
    assert lin.count.dtype == numtorch.int64
    assert lin(numtorch.ones(1, 3, dtype=numtorch.float64)).dtype == numtorch.float64
    lin.float()
    assert w.dtype == numtorch.float32
    lin.to(numtorch.float64)
    assert w.dtype == numtorch.float64
    lin.to("cpu")
    lin.to(numtorch.zeros(1))
    assert w.dtype == numtorch.float32
    assert lin.cpu() is lin
    with pytest.raises(RuntimeError, match="cuda"):
        lin.cuda()
    with pytest.raises(RuntimeError):
        lin.to("cuda")


# ------------------------------------------------------------------------------- hooks
def test_forward_hooks_order_replacement_and_removal():
    def run(lib):
        lin = lib.nn.Linear(2, 2)
        calls = []
        h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
        h2 = lin.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
        h3 = lin.register_forward_hook(lambda m, args, out: calls.append("first"), prepend=True)
        h4 = lin.register_forward_pre_hook(
            lambda m, args, kwargs: calls.append("kw") or None, with_kwargs=True)
        h5 = lin.register_forward_hook(
            lambda m, args, kwargs, out: calls.append("kwpost") or None, with_kwargs=True)
        out = lin(lib.ones(1, 2))
        expected = (lin.bias + 1).detach().numpy()
        for h in (h1, h2, h3, h4, h5):
            h.remove()
        lin(lib.ones(1, 2))
        return calls, np.allclose(out.detach().numpy(), expected)
    assert both(run)[0] == both(run)[1] == (["pre", "kw", "first", "post", "kwpost"], True)


def test_full_backward_hook_receives_gradients():
    def run(lib):
        lin = lib.nn.Linear(3, 2)
        with lib.no_grad():
            lin.weight.copy_(lib.arange(6.0).reshape(2, 3))
        got = {}

        def hook(m, gin, gout):
            got["in"] = [None if g is None else g.numpy().copy() for g in gin]
            got["out"] = [g.numpy().copy() for g in gout]
            return (gin[0] * 2,)

        lin.register_full_backward_hook(hook)
        x = lib.ones(4, 3, requires_grad=True)
        (lin(x) * lib.arange(8.0).reshape(4, 2)).sum().backward()
        return got["in"], got["out"], x.grad.numpy()
    a, b = both(run)
    for u, v in zip(a, b):
        np.testing.assert_allclose(np.array(u), np.array(v), rtol=1e-6)


def test_full_backward_pre_hook_and_no_input_grad():
    def run(lib):
        lin = lib.nn.Linear(2, 2)
        seen = []
        lin.register_full_backward_pre_hook(lambda m, gout: (gout[0] * 3,))
        lin.register_full_backward_hook(
            lambda m, gin, gout: seen.append((gin, gout[0].numpy().copy())))
        with pytest.warns(UserWarning, match="Full backward hook is firing"):
            lin(lib.ones(3, 2)).sum().backward()  # the input needs no grad
        return seen[0][0], seen[0][1], lin.bias.grad.numpy()
    a, b = both(run)
    assert a[0] == b[0] == (None,)
    np.testing.assert_allclose(a[1], b[1])
    np.testing.assert_allclose(a[2], b[2])


def test_always_call_forward_hook_runs_on_error():
    def run(lib):
        seen = []
        lin = lib.nn.Linear(2, 2)
        lin.register_forward_hook(lambda m, a, o: seen.append(o), always_call=True)
        err(lambda: lin(lib.ones(3, 5)))
        return seen
    assert both(run)[0] == both(run)[1] == [None]


def test_global_forward_hook():
    from numtorch.nn.modules.module import register_module_forward_hook
    seen = []
    h = register_module_forward_hook(lambda m, a, o: seen.append(type(m).__name__))
    try:
        nnn.Sequential(nnn.Linear(1, 1))(numtorch.ones(1, 1))
    finally:
        h.remove()
    assert seen == ["Linear", "Sequential"]


def test_state_dict_and_load_hooks():
    lin = nnn.Linear(1, 1)
    lin.register_state_dict_post_hook(lambda m, sd, prefix, meta: sd.pop(prefix + "bias") and None)
    assert list(lin.state_dict()) == ["weight"]
    seen = []
    lin.register_load_state_dict_post_hook(lambda m, keys: seen.append(list(keys.missing_keys)))
    lin.load_state_dict({"weight": numtorch.ones(1, 1)}, strict=False)
    assert seen == [["bias"]]


# -------------------------------------------------------------------------------- repr
def test_repr_matches_torch():
    a, b = both(make_nested)
    assert repr(a) == repr(b)
    assert both(lambda lib: repr(lib.nn.Module()))[0] == "Module()"

    def multi(lib):
        class Multi(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = lib.nn.Sequential(lib.nn.Linear(1, 2))

            def extra_repr(self):
                return "alpha=1,\nbeta=2"
        return repr(Multi())
    assert both(multi)[0] == both(multi)[1]


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.ModuleList([lib.nn.Linear(2, 2) for _ in range(3)]
                                  + [lib.nn.Identity(), lib.nn.Linear(2, 3), lib.nn.Linear(2, 3)]),
    lambda lib: lib.nn.ModuleList(),
    lambda lib: lib.nn.Sequential(),
    lambda lib: lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2, 3)), lib.ones(3)]),
    lambda lib: lib.nn.ParameterDict({"a": lib.nn.Parameter(lib.ones(2, 3)),
                                      "b": lib.ones(3, dtype=lib.float64)}),
    lambda lib: lib.nn.ModuleDict({"z": lib.nn.Linear(1, 1), "a": lib.nn.Flatten()}),
    lambda lib: lib.nn.Sequential(OrderedDict(one=lib.nn.Linear(1, 2), two=lib.nn.Dropout(0.1))),
    lambda lib: lib.nn.Linear(400, 120, bias=False),
    lambda lib: lib.nn.Bilinear(2, 3, 4),
    lambda lib: lib.nn.Unflatten(1, (2, 3)),
    lambda lib: lib.nn.Flatten(0, 2),
    lambda lib: lib.nn.Dropout2d(0.2, inplace=True),
    lambda lib: lib.nn.Dropout1d(),
    lambda lib: lib.nn.AlphaDropout(),
    lambda lib: lib.nn.Embedding(10, 3, padding_idx=-1, max_norm=1.0, norm_type=1.0),
    lambda lib: lib.nn.Embedding(10, 3, scale_grad_by_freq=True, sparse=True),
])
def test_layer_reprs(make):
    a, b = both(make)
    assert repr(a) == repr(b)


# ------------------------------------------------------------------------- containers
def test_sequential_indexing_and_editing():
    def run(lib):
        nn = lib.nn
        s = nn.Sequential(nn.Linear(1, 2), nn.Dropout(0.1), nn.Linear(2, 3), nn.Identity())
        out = [len(s), type(s[-1]).__name__, type(s[1:3]).__name__, len(s[::2])]
        del s[1]
        out.append(list(s._modules))
        s.append(nn.Flatten())
        s.insert(1, nn.Dropout(0.3))
        s.extend([nn.Dropout(0.1)])
        out.append([type(m).__name__ for m in s])
        s[0] = nn.Linear(1, 2)
        popped = s.pop(-1)
        out.append(type(popped).__name__)
        out.append(list(s._modules))
        out.append(err(lambda: s[10]))
        out.append(err(lambda: s + 3)[0])
        out.append(len(s + s))
        out.append(len(s * 2))
        return out
    assert both(run)[0] == both(run)[1]


def test_sequential_forward_and_ordered_dict():
    seq = nnn.Sequential(OrderedDict(fc=nnn.Linear(3, 2), flat=nnn.Flatten(0)))
    assert seq.fc is seq[0] and seq(numtorch.ones(1, 3)).shape == (2,)


def test_module_list_and_dict():
    def run(lib):
        nn = lib.nn
        ml = nn.ModuleList([nn.Linear(1, 1), nn.Dropout(0.1)])
        ml.append(nn.Flatten())
        ml.insert(0, nn.Dropout(0.3))
        ml += [nn.Identity()]
        ml.extend([nn.Dropout(0.1)])
        del ml[1]
        out = [len(ml), [type(m).__name__ for m in ml], list(ml._modules),
               type(ml[1:]).__name__, type(ml.pop(0)).__name__, err(lambda: ml[99]),
               err(lambda: ml.extend(3)), err(lambda: ml(1))[0]]
        md = nn.ModuleDict([("b", nn.Linear(1, 1)), ("a", nn.Dropout(0.1))])
        md["c"] = nn.Flatten()
        md.update({"d": nn.Identity()})
        del md["b"]
        out += [list(md), list(md.keys()), "a" in md, len(md),
                [type(v).__name__ for v in md.values()], type(md.pop("a")).__name__,
                err(lambda: md.update(3)), err(lambda: md.update([("x",)]))]
        return out
    assert both(run)[0] == both(run)[1]


def test_parameter_list_and_dict():
    def run(lib):
        nn = lib.nn
        pl = nn.ParameterList([lib.ones(2)])
        pl.append(nn.Parameter(lib.zeros(3)))
        pl.extend([lib.ones(1)])
        pd = nn.ParameterDict({"w": lib.ones(2)})
        pd["v"] = nn.Parameter(lib.zeros(1))
        m = nn.Module()
        m.pl, m.pd = pl, pd
        return ([type(p).__name__ for p in pl], len(pl), [n for n, _ in m.named_parameters()],
                list(pd.keys()), "w" in pd, len(pd[0:2] if False else pd),
                err(lambda: pl(1)), err(lambda: pd[1])[0])
    assert both(run)[0] == both(run)[1]


# --------------------------------------------------------------------- copy and pickle
def test_deepcopy_and_pickle():
    net = make_nested(numtorch).eval()
    net(numtorch.ones(2, 3)).sum().backward()
    clone = copy.deepcopy(net)
    assert clone.shared is clone.body[0]  # sharing survives
    for (n1, p1), (n2, p2) in zip(net.named_parameters(), clone.named_parameters()):
        assert n1 == n2 and p1 is not p2 and isinstance(p2, nnn.Parameter)
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())
        assert not np.shares_memory(p1._data, p2._data)
    x = numtorch.randn(2, 3)
    np.testing.assert_array_equal(net(x).detach().numpy(), clone(x).detach().numpy())
    seq = nnn.Sequential(nnn.Linear(3, 2), nnn.Dropout(0.2)).eval()
    seq.register_buffer("tmp", numtorch.ones(1), persistent=False)
    seq.register_forward_hook(print)
    seq._forward_hooks.clear()
    again = pickle.loads(pickle.dumps(seq))
    assert repr(again) == repr(seq) and list(again.state_dict()) == list(seq.state_dict())
    assert again._non_persistent_buffers_set == {"tmp"} and not again.training
    np.testing.assert_array_equal(seq(x).detach().numpy(), again(x).detach().numpy())
    assert isinstance(again[0].weight, nnn.Parameter) and again[0].weight.requires_grad


# --------------------------------------------------------------------------- Linear
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_values_and_grads_vs_torch(dtype, shape, bias):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    a, b = nnn.Linear(4, 3, bias=bias), tnn.Linear(4, 3, bias=bias)
    a.to(getattr(numtorch, dtype))
    b.to(getattr(torch, dtype))
    a.load_state_dict({k: numtorch.tensor(v.numpy()) for k, v in b.state_dict().items()})
    xa, xb = numtorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = a(xa), b(xb)
    assert ya.dtype.name == str(yb.dtype).split(".")[1] and tuple(ya.shape) == tuple(yb.shape)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), **tol)
    if len(shape) == 2 and bias:
        assert type(ya.grad_fn).__name__ == type(yb.grad_fn).__name__ == "AddmmBackward0"
    g = rng.standard_normal(ya.shape).astype(dtype)
    ya.backward(numtorch.tensor(g))
    yb.backward(torch.tensor(g))
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), **tol)
    for (_, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_allclose(pa.grad.numpy(), pb.grad.numpy(), **tol)


def test_linear_shape_error():
    a, b = both(lambda lib: err(lambda: lib.nn.Linear(400, 120)(lib.randn(1, 399))))
    assert a == b
    assert a[0] is RuntimeError and "(1x399 and 400x120)" in a[1]


def test_linear_default_init_bounds():
    numtorch.manual_seed(0)
    lin = nnn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, bias = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.dtype == np.float32 and w.shape == (300, 400)
    assert np.abs(w).max() <= bound and np.abs(bias).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(w).max() > 0.99 * bound


def test_manual_seed_makes_models_reproducible():
    numtorch.manual_seed(3)
    a = nnn.Linear(5, 5)
    numtorch.manual_seed(3)
    b = nnn.Linear(5, 5)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())


def test_bilinear_vs_torch():
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((2, 5, 2)), rng.standard_normal((2, 5, 3))
    a, b = nnn.Bilinear(2, 3, 4).double(), tnn.Bilinear(2, 3, 4).double()
    a.load_state_dict({k: numtorch.tensor(v.numpy()) for k, v in b.state_dict().items()})
    ta = [numtorch.tensor(x, requires_grad=True) for x in (x1, x2)]
    tb = [torch.tensor(x, requires_grad=True) for x in (x1, x2)]
    ya, yb = a(*ta), b(*tb)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-10)
    ya.sum().backward()
    yb.sum().backward()
    for u, v in zip(ta + [a.weight], tb + [b.weight]):
        np.testing.assert_allclose(u.grad.numpy(), v.grad.numpy(), rtol=1e-10)


def test_identity_flatten_unflatten():
    x = numtorch.randn(2, 3, 4, 5)
    assert nnn.Identity(1, k=2)(x) is x
    assert nnn.Flatten()(x).shape == (2, 60)
    assert nnn.Flatten(0, 2)(x).shape == (24, 5)
    assert nnn.Unflatten(1, (3, 1))(x).shape == (2, 3, 1, 4, 5)
    a, b = both(lambda lib: err(lambda: lib.nn.Unflatten(1, (2, 1.5))))
    assert a == b


# -------------------------------------------------------------------------- dropout
def test_dropout_scaling_and_modes():
    numtorch.manual_seed(0)
    x = numtorch.ones(200, 100, requires_grad=True)
    drop = nnn.Dropout(0.25)
    y = drop(x)
    vals = np.unique(y.detach().numpy())
    np.testing.assert_allclose(vals, [0, 1 / 0.75], rtol=1e-6)
    assert abs((y.detach().numpy() == 0).mean() - 0.25) < 0.02
    assert y.dtype == numtorch.float32 and type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())
    drop.eval()
    assert drop(x) is x
    assert NF.dropout(x, 0.0) is x and NF.dropout(x, 0.5, training=False) is x
    assert float(NF.dropout(x, 1.0).abs().sum()) == 0
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nnn.Dropout(1.5)


def test_channel_dropout():
    numtorch.manual_seed(0)
    y = NF.dropout2d(numtorch.ones(8, 16, 5, 5), 0.5).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    y1 = NF.dropout1d(numtorch.ones(16, 7), 0.5).numpy()
    assert ((y1 == 0).all(-1) | (y1 == 2).all(-1)).all()
    a, b = both(lambda lib: err(lambda: lib.nn.functional.dropout1d(lib.ones(2, 3, 4, 5))))
    assert a == b
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        NF.dropout2d(numtorch.ones(2, 3, 4))


def test_alpha_dropout_keeps_statistics():
    numtorch.manual_seed(0)
    x = numtorch.randn(400, 400)
    y = NF.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert NF.alpha_dropout(x, 0.2) is x  # training defaults to False


# ------------------------------------------------------------------------ embedding
def test_embedding_vs_torch():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((10, 4))
    idx = np.array([[1, 2, 2], [0, 9, 1]])
    out = []
    for lib in LIBS:
        weight = lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.embedding(lib.tensor(idx), weight, padding_idx=2)
        (y * lib.arange(24.0, dtype=lib.float64).reshape(2, 3, 4)).sum().backward()
        out.append((y.detach().numpy(), weight.grad.numpy(), type(y.grad_fn).__name__))
    np.testing.assert_allclose(out[0][0], out[1][0])
    np.testing.assert_allclose(out[0][1], out[1][1])
    assert out[0][2] == out[1][2] == "EmbeddingBackward0"


def test_embedding_scale_grad_by_freq_and_max_norm():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 3)) * 3
    idx = np.array([1, 1, 4, 0])
    res = []
    for lib in LIBS:
        emb = lib.nn.Embedding(6, 3, max_norm=1.0, scale_grad_by_freq=True).double()
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(w))
        emb(lib.tensor(idx)).sum().backward()
        res.append((emb.weight.detach().numpy().copy(), emb.weight.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-6)
    np.testing.assert_allclose(res[0][1], res[1][1])


@pytest.mark.parametrize("jit", [True, False], ids=["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
@pytest.mark.parametrize("options", [{}, {"padding_idx": 3}, {"scale_grad_by_freq": True}],
                         ids=str)
def test_embedding_gradient_both_paths_vs_torch(monkeypatch, jit, dtype, index_dtype, options):
    """The compiled embedding gradient and NumPy's sort-and-reduceat one, with repeated
    indices (summed), unused rows (zero), a padding row and frequency scaling."""
    from numtorch.ops import _jit
    if jit:
        pytest.importorskip("numba")
    monkeypatch.setattr(_jit, "ENABLED", jit)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((12, 5)).astype(dtype)
    idx = rng.integers(0, 8, (6, 7)).astype(index_dtype)
    g = rng.standard_normal((6, 7, 5)).astype(dtype)
    grads = []
    for lib in LIBS:
        weight = lib.tensor(w, requires_grad=True)
        lib.nn.functional.embedding(lib.tensor(idx), weight, **options).backward(lib.tensor(g))
        grads.append(weight.grad.numpy())
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12)
    np.testing.assert_allclose(grads[0], grads[1], **tol)


def test_embedding_module_init_padding():
    numtorch.manual_seed(0)
    emb = nnn.Embedding(1000, 50, padding_idx=0)
    w = emb.weight.detach().numpy()
    assert (w[0] == 0).all() and abs(w[1:].std() - 1) < 0.02 and abs(w[1:].mean()) < 0.02
    assert emb(numtorch.tensor([[0, 3]])).shape == (1, 2, 50)


@pytest.mark.parametrize("bad", [
    lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([3])),
    lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([1.0])),
    lambda lib: lib.nn.Embedding(3, 2, padding_idx=5),
])
def test_embedding_errors(bad):
    a, b = both(lambda lib: err(lambda: bad(lib)))
    assert a[0] is b[0] and a[0] is not None
    assert a[1] == b[1]


def test_embedding_from_pretrained():
    w = numtorch.arange(6.0).reshape(3, 2)
    emb = nnn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad and emb.weight._data is w._data
    assert nnn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    np.testing.assert_array_equal(emb(numtorch.tensor([2])).numpy(), [[4.0, 5.0]])


# ----------------------------------------------------------------- functional forms
@pytest.mark.parametrize("args", [([3, 0, 1],), ([[1], [2]], 5), ([0, 2], -1)])
def test_one_hot(args):
    a, b = both(lambda lib: lib.nn.functional.one_hot(lib.tensor(args[0]), *args[1:]).numpy())
    np.testing.assert_array_equal(a, b)
    assert a.dtype == b.dtype == np.int64


@pytest.mark.parametrize("bad,dtype,kw", [([1.0], "float32", {}), ([-1], "int64", {}),
                                          ([3], "int64", {"num_classes": 2}),
                                          ([], "int64", {})])
def test_one_hot_errors(bad, dtype, kw):
    a, b = both(lambda lib: err(lambda: lib.nn.functional.one_hot(
        lib.tensor(bad, dtype=getattr(lib, dtype)), **kw)))
    assert a == b and a[0] is RuntimeError


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", [
    ("normalize", {}), ("normalize", {"p": 1.0, "dim": 0}), ("normalize", {"dim": -1}),
    ("cosine_similarity", {}), ("cosine_similarity", {"dim": 0}),
    ("pairwise_distance", {}), ("pairwise_distance", {"p": 1.0, "keepdim": True}),
])
def test_distance_forms_vs_torch(dtype, name, kwargs):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((4, 5)).astype(dtype) for _ in range(2)]
    n_args = 1 if name == "normalize" else 2
    res = []
    for lib, F in ((numtorch, NF), (torch, TF)):
        ins = [lib.tensor(a, requires_grad=True) for a in arrays[:n_args]]
        y = getattr(F, name)(*ins, **kwargs)
        (y * lib.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)).astype(dtype))
         ).sum().backward()
        res.append((y.detach().numpy(), [t.grad.numpy() for t in ins], type(y.grad_fn).__name__))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res[0][0], res[1][0], **tol)
    assert res[0][0].dtype == res[1][0].dtype
    for u, v in zip(res[0][1], res[1][1]):
        np.testing.assert_allclose(u, v, **tol)
    if name != "pairwise_distance":
        assert res[0][2] == res[1][2]


# ------------------------------------------------------------------------- nn.utils
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_vs_torch(norm_type, max_norm):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (5,), (2, 2, 2))]
    res = []
    for lib in LIBS:
        params = [lib.nn.Parameter(lib.zeros(*g.shape)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        params.append(lib.nn.Parameter(lib.zeros(2)))  # no grad: skipped
        total = lib.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
        res.append((total.numpy(), [p.grad.numpy() for p in params[:-1]]))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5)
    assert res[0][0].dtype == res[1][0].dtype and res[0][0].shape == ()
    for u, v in zip(res[0][1], res[1][1]):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_nonfinite_and_value():
    p = nnn.Parameter(numtorch.zeros(2))
    p.grad = numtorch.tensor([float("inf"), 1.0])
    a = err(lambda: nnn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True))
    tp = tnn.Parameter(torch.zeros(2))
    tp.grad = torch.tensor([float("inf"), 1.0])
    b = err(lambda: tnn.utils.clip_grad_norm_(tp, 1.0, error_if_nonfinite=True))
    assert a == b
    assert float(nnn.utils.clip_grad_norm_([], 1.0)) == 0.0
    p.grad = numtorch.tensor([-3.0, 0.2])
    assert nnn.utils.clip_grad_value_([p], 1.0) is None
    np.testing.assert_allclose(p.grad.numpy(), [-1.0, 0.2])


def test_parameters_vector_roundtrip():
    lin = nnn.Linear(3, 2)
    vec = nnn.utils.parameters_to_vector(lin.parameters())
    assert vec.shape == (8,) and vec.requires_grad
    nnn.utils.vector_to_parameters(numtorch.arange(8.0), lin.parameters())
    np.testing.assert_array_equal(lin.weight.detach().numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(lin.bias.detach().numpy(), [6.0, 7.0])
    a, b = both(lambda lib: err(lambda: lib.nn.utils.vector_to_parameters(
        [1.0], lib.nn.Linear(1, 1).parameters())))
    assert a == b


def test_hook_handle_context_manager_and_masking_helper():
    lin = nnn.Linear(1, 1)
    calls = []
    with lin.register_forward_hook(lambda *a: calls.append(1)):
        lin(numtorch.ones(1, 1))
    lin(numtorch.ones(1, 1))
    assert calls == [1]
    assert mask_addresses("<X object at 0xdeadbeef>") == "<X object at 0x?>"


# ------------------------------------------------------------ finite differences (float64)
@pytest.mark.parametrize("fn,shapes", [
    (lambda x: NF.normalize(x, p=2.0, dim=1), [(3, 4)]),
    (lambda x: NF.normalize(x, p=3.0, dim=0), [(3, 4)]),
    (lambda a, b: NF.cosine_similarity(a, b, dim=1), [(3, 4), (3, 4)]),
    (lambda a, b: NF.pairwise_distance(a, b), [(3, 4), (3, 4)]),
    (lambda a, b, w: NF.bilinear(a, b, w), [(2, 3), (2, 4), (5, 3, 4)]),
    (lambda w: NF.embedding(numtorch.tensor([[0, 2, 2], [1, 0, 3]]), w),
     [(4, 3)]),
    (lambda x, w, b: NF.linear(x, w, b), [(2, 5, 3), (4, 3), (4,)]),
])
def test_finite_differences(fn, shapes):
    from oracle import check_grad_fd
    rng = np.random.default_rng(5)
    check_grad_fd(fn, [rng.standard_normal(s) for s in shapes])


def test_hook_removing_itself_during_call():
    lin = nnn.Linear(1, 1)
    handles = []
    handles.append(lin.register_forward_pre_hook(lambda m, a: handles[0].remove()))
    handles.append(lin.register_forward_hook(lambda m, a, o: handles[1].remove()))
    lin(numtorch.ones(1, 1))
    assert not lin._forward_pre_hooks and not lin._forward_hooks


def test_get_total_norm_and_clip_grads_with_norm_vs_torch():
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s).astype(np.float32) for s in ((4, 2), (3,))]
    res = []
    for lib in LIBS:
        params = [lib.nn.Parameter(lib.zeros(*g.shape)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        total = lib.nn.utils.get_total_norm([p.grad for p in params], norm_type=3.0)
        lib.nn.utils.clip_grads_with_norm_(params, 0.5, total)
        res.append((total.numpy(), [p.grad.numpy() for p in params]))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5)
    for u, v in zip(res[0][1], res[1][1]):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)


EDGE_CASES = {
    "module positional arg": lambda L: L.nn.Module(1),
    "sequential insert out of range": lambda L: L.nn.Sequential(L.nn.Identity()).insert(
        5, L.nn.Identity()),
    "sequential * 3": lambda L: len(L.nn.Sequential(L.nn.Identity()) * 3),
    "sequential *=": lambda L: (lambda s: (s.__imul__(2), len(s)))(
        L.nn.Sequential(L.nn.Identity(), L.nn.Flatten())),
    "sequential +=": lambda L: (lambda s: (s.__iadd__(L.nn.Sequential(L.nn.Identity())),
                                           list(s._modules)))(L.nn.Sequential(L.nn.Identity())),
    "sequential del slice": lambda L: (lambda s: (s.__delitem__(slice(0, 2)), list(s._modules)))(
        L.nn.Sequential(L.nn.Identity(), L.nn.Flatten(), L.nn.Dropout())),
    "sequential str index": lambda L: L.nn.Sequential(L.nn.Identity())["0"],
    "modulelist str index": lambda L: L.nn.ModuleList([L.nn.Identity()])["0"],
    "modulelist + list": lambda L: L.nn.ModuleList([L.nn.Identity()]) + [L.nn.Flatten()],
    "modulelist setitem -1": lambda L: (lambda m: (m.__setitem__(-1, L.nn.Dropout()), m))(
        L.nn.ModuleList([L.nn.Identity(), L.nn.Flatten()])),
    "moduledict dotted key": lambda L: L.nn.ModuleDict({"a.b": L.nn.Identity()}),
    "moduledict missing key": lambda L: L.nn.ModuleDict()["x"],
    "parameterlist slice": lambda L: L.nn.ParameterList([L.ones(1), L.ones(2), L.ones(3)])[1:],
    "parameterlist -1": lambda L: tuple(L.nn.ParameterList([L.ones(1), L.ones(2)])[-1].shape),
    "parameterlist out of range": lambda L: L.nn.ParameterList([L.ones(1)])[3],
    "parameterdict missing": lambda L: L.nn.ParameterDict()["x"],
    "parameterdict object": lambda L: L.nn.ParameterDict({"a": 3}),
    "parameterlist objects": lambda L: L.nn.ParameterList([3, "x"]),
    "named_modules memo prefix": lambda L: [n for n, _ in L.nn.Sequential(
        L.nn.Identity()).named_modules(memo=set(), prefix="p")],
    "linear float64": lambda L: L.nn.Linear(2, 2, dtype=L.float64).weight.dtype,
    "linear dtype mismatch": lambda L: L.nn.Linear(2, 2)(L.ones(1, 2, dtype=L.float64)),
    "linear 1-d input": lambda L: tuple(L.nn.Linear(2, 3)(L.ones(2)).shape),
    "linear zero in_features": lambda L: L.nn.Linear(0, 3).bias.abs().sum().item(),
    "linear 3-d bad": lambda L: L.nn.Linear(4, 3)(L.ones(2, 5, 3)),
    "linear 1-d bad": lambda L: L.nn.Linear(4, 3)(L.ones(3)),
    "embedding padding -2": lambda L: L.nn.Embedding(5, 2, padding_idx=-2).padding_idx,
    "embedding padding -6": lambda L: L.nn.Embedding(5, 2, padding_idx=-6),
    "from_pretrained 1-d": lambda L: L.nn.Embedding.from_pretrained(L.ones(3)),
    "embedding weight shape": lambda L: L.nn.Embedding(3, 2, _weight=L.ones(2, 2)),
    "dropout p<0": lambda L: L.nn.functional.dropout(L.ones(2), -0.1),
    "alpha dropout p=1": lambda L: L.nn.functional.alpha_dropout(L.ones(2), 1.0, True),
    "normalize 1-d": lambda L: L.nn.functional.normalize(L.tensor([3.0, 4.0]), dim=0),
    "cosine broadcast": lambda L: L.nn.functional.cosine_similarity(L.ones(3, 4), L.ones(4),
                                                                    dim=-1),
    "pairwise 1-d": lambda L: L.nn.functional.pairwise_distance(L.ones(4), L.zeros(4)),
    "unflatten -1": lambda L: tuple(L.nn.Unflatten(1, (2, -1))(L.ones(3, 6)).shape),
    "unflatten list": lambda L: L.nn.Unflatten(1, [2, 3]),
    "flatten 1-d": lambda L: L.nn.Flatten()(L.ones(3)).shape,
    "0-dim buffer from 1-element": lambda L: (lambda m: (
        m.register_buffer("s", L.tensor(1.0)), m.load_state_dict({"s": L.tensor([5.0])}),
        m.s))(L.nn.Module()),
    "clip nothing": lambda L: L.nn.utils.clip_grad_norm_([], 1.0),
    "clip norm 0": lambda L: (lambda p: (setattr(p, "grad", L.tensor([0.0, 2.0, 3.0])),
                                         L.nn.utils.clip_grad_norm_([p], 1.0, norm_type=0)))(
        L.nn.Parameter(L.zeros(3))),
    "clip float64": lambda L: (lambda p: (
        setattr(p, "grad", L.tensor([3.0, 4.0], dtype=L.float64)),
        L.nn.utils.clip_grad_norm_(p, 1.0)))(L.nn.Parameter(L.zeros(2, dtype=L.float64))),
    "parameters_to_vector grad_fn": lambda L: type(L.nn.utils.parameters_to_vector(
        L.nn.Linear(1, 1).parameters()).grad_fn).__name__,
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_cases_match_torch(case):
    def outcome(lib):
        try:
            return "ok", mask_addresses(repr(EDGE_CASES[case](lib)))
        except Exception as e:  # noqa: BLE001 - the class is what we compare
            return type(e).__name__, str(e)
    a, b = both(outcome)
    assert a == b


def test_legacy_backward_hook_and_mixing_error():
    lin = nnn.Linear(2, 2)
    seen = []
    lin.register_backward_hook(lambda m, gin, gout: seen.append(len(gout)))
    lin(numtorch.ones(1, 2, requires_grad=True)).sum().backward()
    assert seen == [1]
    a, b = both(lambda lib: err(lambda: (lambda m: (
        m.register_backward_hook(lambda *a: None),
        m.register_full_backward_hook(lambda *a: None)))(lib.nn.Linear(1, 1))))
    assert a == b and a[0] is RuntimeError
    assert lin.bfloat16() is lin and lin.weight.dtype is numtorch.bfloat16
    assert lin.compile() is None


def test_skip_init():
    lin = nnn.utils.skip_init(nnn.Linear, 2, 3)
    assert isinstance(lin, nnn.Linear) and lin.weight.shape == (3, 2)
    a, b = both(lambda lib: err(lambda: lib.nn.utils.skip_init(lib.nn.Identity)))
    assert a == b
