"""numtorch.utils.hooks.RemovableHandle: the one handle every ``register_*_hook`` returns."""

import pickle
from collections import OrderedDict

import pytest

import numtorch
from numtorch import nn
from numtorch.utils.hooks import RemovableHandle


def test_remove_deletes_the_key_once():
    hooks = OrderedDict()
    handle = RemovableHandle(hooks)
    hooks[handle.id] = print
    handle.remove()
    assert handle.id not in hooks
    handle.remove()  # a second call does nothing


def test_ids_increase_and_extra_dicts_are_cleared():
    hooks, extra_a, extra_b = OrderedDict(), OrderedDict(), OrderedDict()
    first = RemovableHandle(hooks, extra_dict=extra_a)
    second = RemovableHandle(hooks, extra_dict=[extra_a, extra_b])
    assert second.id > first.id
    for d in (hooks, extra_a, extra_b):
        d[second.id] = True
    with second:
        pass
    assert not hooks and not extra_a and not extra_b


def test_pickle_keeps_the_dicts_and_moves_the_counter_on():
    hooks, extra = OrderedDict(), OrderedDict()
    handle = RemovableHandle(hooks, extra_dict=extra)
    hooks[handle.id] = extra[handle.id] = "hook"
    hooks2, handle2 = pickle.loads(pickle.dumps((hooks, handle)))
    assert handle2.id == handle.id and RemovableHandle.next_id > handle.id
    assert handle2.hooks_dict_ref() is hooks2
    handle2.remove()
    assert not hooks2 and hooks  # the copy's dict, not the original's


def test_unpickled_handle_of_a_dropped_dict_is_dead():
    handle = RemovableHandle(OrderedDict())  # the dict is gone at once
    copy = pickle.loads(pickle.dumps(handle))
    copy.remove()
    assert copy.hooks_dict_ref() is None


def test_same_behaviour_as_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.hooks import RemovableHandle as TorchHandle
    for cls in (TorchHandle, RemovableHandle):
        hooks, extra = OrderedDict(), OrderedDict()
        handle = cls(hooks, extra_dict=[extra])
        hooks[handle.id] = extra[handle.id] = 1
        hooks2, extra2, handle2 = pickle.loads(pickle.dumps((hooks, extra, handle)))
        handle2.remove()
        assert (len(hooks2), len(extra2), len(hooks)) == (0, 0, 1)
        assert handle.__enter__() is handle
    assert torch.zeros(1, requires_grad=True).register_hook(abs).__class__ is TorchHandle


def test_every_register_hook_returns_it():
    x = numtorch.zeros(2, requires_grad=True)
    y = x * 2
    model = nn.Linear(2, 2)
    opt = numtorch.optim.SGD(model.parameters(), lr=0.1)
    handles = [x.register_hook(lambda g: g), x.register_post_accumulate_grad_hook(lambda t: None),
               y.register_hook(lambda g: g), y.grad_fn.register_hook(lambda gi, go: None),
               y.grad_fn.register_prehook(lambda go: None),
               model.register_forward_hook(lambda m, i, o: None),
               opt.register_step_pre_hook(lambda o, a, k: None),
               nn.modules.module.register_module_forward_hook(lambda m, i, o: None)]
    assert {type(h) for h in handles} == {RemovableHandle}
    for h in handles:
        h.remove()


def test_removed_tensor_and_node_hooks_do_not_run():
    calls = []
    x = numtorch.ones(2, requires_grad=True)
    y = x * 3
    keep = x.register_hook(lambda g: calls.append("leaf") or g * 2)
    with x.register_hook(lambda g: calls.append("removed")):
        pass
    gone = y.grad_fn.register_prehook(lambda go: calls.append("pre"))
    gone.remove()
    y.grad_fn.register_hook(lambda gi, go: calls.append("node"))
    y.sum().backward()
    assert calls == ["node", "leaf"]
    assert x.grad.tolist() == [6.0, 6.0]
    keep.remove()


def test_a_hook_may_remove_itself_while_running():
    x = numtorch.ones(1, requires_grad=True)
    handles = []

    def once(g):
        handles[0].remove()
        return g * 2

    handles.append(x.register_hook(once))
    (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [3.0]
