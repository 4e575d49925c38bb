"""numtorch.summary: torchinfo's table, totals and memory estimate for numtorch models.

The reference tables below were printed by torchinfo 1.8.0 (with torch 2.13.0, CPU) for the same
architectures built with torch.nn, and pasted here unchanged except for one thing: torchinfo 1.8
on Python >= 3.11 prints the mult-adds unit as "(Units.MEGABYTES)" (an enum-formatting bug in
it); numtorch prints the intended "(M)". When torchinfo is importable, ``test_matches_torchinfo``
recomputes every table with it.
"""
# ruff: noqa: E501  (the reference tables are as wide as torchinfo prints them)

import pytest
from tutorial_net import lenet

import numtorch
from numtorch.utils import summary as _summary
from numtorch.utils.summary import summary

ALL_COLUMNS = ("input_size", "output_size", "num_params", "params_percent", "kernel_size",
               "mult_adds", "trainable")


# ------------------------------------------------------------------------------- the models
def frozen_sequential(lib):
    """Nested Sequentials, a frozen conv and a partly frozen BatchNorm1d."""
    nn = lib.nn
    seq = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Sequential(nn.Flatten(), nn.Linear(6 * 14 * 14, 10)),
                        nn.BatchNorm1d(10))
    for p in seq[0].parameters():
        p.requires_grad_(False)
    seq[4].weight.requires_grad_(False)
    return seq


def shared(lib):
    """A layer called twice, a ModuleList (never called itself), an own Parameter, an unused
    layer."""
    nn = lib.nn

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(4, 4)
            self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(4, 4), nn.ReLU())
                                         for _ in range(2)])
            self.w = nn.Parameter(lib.ones(4))
            self.unused = nn.Linear(3, 3)

        def forward(self, x):
            x = self.l(self.l(x))
            for block in self.blocks:
                x = block(x)
            return x * self.w

    return Shared()


def embed(lib):
    """Integer input (Embedding) and a keyword argument of forward."""
    nn = lib.nn

    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(100, 8)
            self.head = nn.Linear(8, 2)

        def forward(self, idx, scale=1.0):
            return self.head(self.emb(idx).mean(1)) * scale

    return Bag()


# ------------------------------------------------------------------- torchinfo's reference
LENET = """\
==========================================================================================
Layer (type:depth-idx)                   Output Shape              Param #
==========================================================================================
Net                                      [1, 10]                   --
├─Conv2d: 1-1                            [1, 6, 28, 28]            156
├─Conv2d: 1-2                            [1, 16, 10, 10]           2,416
├─Linear: 1-3                            [1, 120]                  48,120
├─Linear: 1-4                            [1, 84]                   10,164
├─Linear: 1-5                            [1, 10]                   850
==========================================================================================
Total params: 61,706
Trainable params: 61,706
Non-trainable params: 0
Total mult-adds (M): 0.42
==========================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.05
Params size (MB): 0.25
Estimated Total Size (MB): 0.30
=========================================================================================="""

LENET_ALL_VERBOSE = """\
=======================================================================================================================================================================================================================
Layer (type:depth-idx)                   Input Shape               Output Shape              Param #                   Param %                   Kernel Shape              Mult-Adds                 Trainable
=======================================================================================================================================================================================================================
Net                                      [1, 1, 32, 32]            [1, 10]                   --                             --                   --                        --                        True
├─Conv2d: 1-1                            [1, 1, 32, 32]            [1, 6, 28, 28]            156                         0.25%                   [5, 5]                    122,304                   True
│    └─weight                                                                                ├─150                                               [1, 6, 5, 5]
│    └─bias                                                                                  └─6                                                 [6]
├─Conv2d: 1-2                            [1, 6, 14, 14]            [1, 16, 10, 10]           2,416                       3.92%                   [5, 5]                    241,600                   True
│    └─weight                                                                                ├─2,400                                             [6, 16, 5, 5]
│    └─bias                                                                                  └─16                                                [16]
├─Linear: 1-3                            [1, 400]                  [1, 120]                  48,120                     77.98%                   --                        48,120                    True
│    └─weight                                                                                ├─48,000                                            [400, 120]
│    └─bias                                                                                  └─120                                               [120]
├─Linear: 1-4                            [1, 120]                  [1, 84]                   10,164                     16.47%                   --                        10,164                    True
│    └─weight                                                                                ├─10,080                                            [120, 84]
│    └─bias                                                                                  └─84                                                [84]
├─Linear: 1-5                            [1, 84]                   [1, 10]                   850                         1.38%                   --                        850                       True
│    └─weight                                                                                ├─840                                               [84, 10]
│    └─bias                                                                                  └─10                                                [10]
=======================================================================================================================================================================================================================
Total params: 61,706
Trainable params: 61,706
Non-trainable params: 0
Total mult-adds (M): 0.42
=======================================================================================================================================================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.05
Params size (MB): 0.25
Estimated Total Size (MB): 0.30
======================================================================================================================================================================================================================="""

LENET_NO_INPUT = """\
=================================================================
Layer (type:depth-idx)                   Param #
=================================================================
Net                                      --
├─Conv2d: 1-1                            156
├─Conv2d: 1-2                            2,416
├─Linear: 1-3                            48,120
├─Linear: 1-4                            10,164
├─Linear: 1-5                            850
=================================================================
Total params: 61,706
Trainable params: 61,706
Non-trainable params: 0
================================================================="""

FROZEN = """\
===================================================================================================================
Layer (type:depth-idx)                   Output Shape              Param #                   Trainable
===================================================================================================================
Sequential                               [2, 10]                   --                        Partial
├─Conv2d: 1-1                            [2, 6, 28, 28]            (156)                     False
├─ReLU: 1-2                              [2, 6, 28, 28]            --                        --
├─MaxPool2d: 1-3                         [2, 6, 14, 14]            --                        --
├─Sequential: 1-4                        [2, 10]                   --                        True
│    └─Flatten: 2-1                      [2, 1176]                 --                        --
│    └─Linear: 2-2                       [2, 10]                   11,770                    True
├─BatchNorm1d: 1-5                       [2, 10]                   20                        Partial
===================================================================================================================
Total params: 11,946
Trainable params: 11,780
Non-trainable params: 166
Total mult-adds (M): 0.27
===================================================================================================================
Input size (MB): 0.01
Forward/backward pass size (MB): 0.08
Params size (MB): 0.05
Estimated Total Size (MB): 0.13
==================================================================================================================="""

FROZEN_DEPTH1 = """\
===================================================================================================================
Layer (type:depth-idx)                   Output Shape              Param #                   Mult-Adds
===================================================================================================================
Sequential                               [2, 10]                   --                        --
├─Conv2d: 1-1                            [2, 6, 28, 28]            (156)                     244,608
├─ReLU: 1-2                              [2, 6, 28, 28]            --                        --
├─MaxPool2d: 1-3                         [2, 6, 14, 14]            --                        --
├─Sequential: 1-4                        [2, 10]                   11,770                    23,540
├─BatchNorm1d: 1-5                       [2, 10]                   20                        40
===================================================================================================================
Total params: 11,946
Trainable params: 11,780
Non-trainable params: 166
Total mult-adds (M): 0.27
===================================================================================================================
Input size (MB): 0.01
Forward/backward pass size (MB): 0.08
Params size (MB): 0.05
Estimated Total Size (MB): 0.13
==================================================================================================================="""

SHARED_VAR_NAMES = """\
===================================================================================================================
Layer (type (var_name):depth-idx)        Input Shape               Param #                   Param %
===================================================================================================================
Shared (Shared)                          [3, 4]                    16                         21.05%
├─Linear (l): 1-1                        [3, 4]                    20                         26.32%
├─Linear (l): 1-2                        [3, 4]                    (recursive)               (recursive)
├─ModuleList (blocks): 1-3               --                        --                             --
│    └─Sequential (0): 2-1               [3, 4]                    --                             --
│    │    └─Linear (0): 3-1              [3, 4]                    20                         26.32%
│    │    └─ReLU (1): 3-2                [3, 4]                    --                             --
│    └─Sequential (1): 2-2               [3, 4]                    --                             --
│    │    └─Linear (0): 3-3              [3, 4]                    20                         26.32%
│    │    └─ReLU (1): 3-4                [3, 4]                    --                             --
===================================================================================================================
Total params: 76
Trainable params: 76
Non-trainable params: 0
Total mult-adds (M): 0.00
===================================================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.00
Params size (MB): 0.00
Estimated Total Size (MB): 0.00
==================================================================================================================="""

SHARED_ASCII_HIDE = """\
==========================================================================================
Layer (type)                             Output Shape              Param #
==========================================================================================
Shared                                   [3, 4]                    16
+ Linear                                 [3, 4]                    20
+ ModuleList                             --                        --
|    + Sequential                        [3, 4]                    --
|    |    + Linear                       [3, 4]                    20
|    |    + ReLU                         [3, 4]                    --
|    + Sequential                        [3, 4]                    --
|    |    + Linear                       [3, 4]                    20
|    |    + ReLU                         [3, 4]                    --
==========================================================================================
Total params: 76
Trainable params: 76
Non-trainable params: 0
Total mult-adds (M): 0.00
==========================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.00
Params size (MB): 0.00
Estimated Total Size (MB): 0.00
=========================================================================================="""

SHARED_NO_INPUT = """\
=================================================================
Layer (type:depth-idx)                   Param #
=================================================================
Shared                                   4
├─Linear: 1-1                            20
├─ModuleList: 1-2                        --
│    └─Sequential: 2-1                   --
│    │    └─Linear: 3-1                  20
│    │    └─ReLU: 3-2                    --
│    └─Sequential: 2-2                   --
│    │    └─Linear: 3-3                  20
│    │    └─ReLU: 3-4                    --
├─Linear: 1-3                            12
=================================================================
Total params: 76
Trainable params: 76
Non-trainable params: 0
================================================================="""

EMBED = """\
===================================================================================================================
Layer (type:depth-idx)                   Input Shape               Output Shape              Param #
===================================================================================================================
Bag                                      [2, 5]                    [2, 2]                    --
├─Embedding: 1-1                         [2, 5]                    [2, 5, 8]                 800
├─Linear: 1-2                            [2, 8]                    [2, 2]                    18
===================================================================================================================
Total params: 818
Trainable params: 818
Non-trainable params: 0
Total mult-adds (M): 0.00
===================================================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.00
Params size (MB): 0.00
Estimated Total Size (MB): 0.00
==================================================================================================================="""

EMBED_DATA = """\
==========================================================================================
Layer (type:depth-idx)                   Output Shape              Param #
==========================================================================================
Bag                                      [2, 2]                    --
├─Embedding: 1-1                         [2, 5, 8]                 800
├─Linear: 1-2                            [2, 2]                    18
==========================================================================================
Total params: 818
Trainable params: 818
Non-trainable params: 0
Total mult-adds (M): 0.00
==========================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.00
Params size (MB): 0.00
Estimated Total Size (MB): 0.00
=========================================================================================="""


def _cases(lib):
    """(name, model builder, summary arguments, verbose for printing, expected table)."""
    return [
        ("lenet", lenet, dict(input_size=(1, 1, 32, 32)), 0, LENET),
        ("lenet_all_verbose", lenet, dict(input_size=(1, 1, 32, 32), col_names=ALL_COLUMNS), 2,
         LENET_ALL_VERBOSE),
        ("lenet_no_input", lenet, dict(), 0, LENET_NO_INPUT),
        ("frozen", frozen_sequential,
         dict(input_size=(2, 1, 32, 32), col_names=("output_size", "num_params", "trainable")),
         0, FROZEN),
        ("frozen_depth1", frozen_sequential,
         dict(input_size=(2, 1, 32, 32), depth=1,
              col_names=("output_size", "num_params", "mult_adds")), 0, FROZEN_DEPTH1),
        ("shared_var_names", shared,
         dict(input_size=(3, 4), col_names=("input_size", "num_params", "params_percent"),
              row_settings=("var_names", "depth")), 0, SHARED_VAR_NAMES),
        ("shared_ascii_hide", shared,
         dict(input_size=(3, 4), row_settings=("ascii_only", "hide_recursive_layers")), 0,
         SHARED_ASCII_HIDE),
        ("shared_no_input", shared, dict(), 0, SHARED_NO_INPUT),
        ("embed", embed,
         dict(input_size=(2, 5), dtypes=[lib.long],
              col_names=("input_size", "output_size", "num_params")), 0, EMBED),
        ("embed_data", embed,
         dict(input_data={"idx": lib.zeros(2, 5, dtype=lib.long), "scale": 2.0}), 0,
         EMBED_DATA),
    ]


CASE_NAMES = [c[0] for c in _cases(numtorch)]


def _table(fn, lib, builder, kwargs, verbose):
    """The summary's text; verbose=2 tables are rendered without printing them."""
    lib.manual_seed(0)
    stats = fn(builder(lib), verbose=0, **kwargs)
    stats.formatting.verbose = verbose
    return stats, str(stats)


# -------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", CASE_NAMES)
def test_table_equals_torchinfo_reference(name):
    _, builder, kwargs, verbose, expected = next(c for c in _cases(numtorch) if c[0] == name)
    _, text = _table(summary, numtorch, builder, kwargs, verbose)
    assert text == expected


@pytest.mark.parametrize("name", CASE_NAMES)
def test_matches_torchinfo(name):
    torchinfo = pytest.importorskip("torchinfo")
    torch = pytest.importorskip("torch")
    _, builder, kwargs, verbose, _ = next(c for c in _cases(torch) if c[0] == name)
    _, theirs = _table(torchinfo.summary, torch, builder, kwargs, verbose)
    _, builder, kwargs, verbose, _ = next(c for c in _cases(numtorch) if c[0] == name)
    _, ours = _table(summary, numtorch, builder, kwargs, verbose)
    assert ours == theirs.replace("(Units.MEGABYTES)", "(M)")


def test_lenet_totals_and_rows():
    numtorch.manual_seed(0)
    stats = summary(lenet(numtorch), input_size=(1, 1, 32, 32), verbose=0)
    # torchinfo 1.8.0's numbers for the same model (total_input is sys.getsizeof of the
    # input's storage: 4,096 bytes of data plus a 64-byte header).
    assert stats.total_params == 61706
    assert stats.trainable_params == 61706 and stats.non_trainable_params == 0
    assert stats.total_mult_adds == 423038
    assert stats.total_input == 4160
    assert stats.total_output_bytes == 52144
    assert stats.total_param_bytes == 246824
    rows = [(r.class_name, r.depth, r.depth_index, r.output_size, r.num_params)
            for r in stats.summary_list]
    assert rows == [("Net", 0, 1, [1, 10], 61706),
                    ("Conv2d", 1, 1, [1, 6, 28, 28], 156),
                    ("Conv2d", 1, 2, [1, 16, 10, 10], 2416),
                    ("Linear", 1, 3, [1, 120], 48120),
                    ("Linear", 1, 4, [1, 84], 10164),
                    ("Linear", 1, 5, [1, 10], 850)]
    assert [r.input_size for r in stats.summary_list][2:4] == [[1, 6, 14, 14], [1, 400]]
    assert repr(stats) == str(stats)


def test_frozen_counts():
    stats = summary(frozen_sequential(numtorch), input_size=(2, 1, 32, 32), verbose=0)
    assert (stats.total_params, stats.trainable_params) == (11946, 11780)
    assert stats.non_trainable_params == 166
    assert [r.trainable for r in stats.summary_list] == [
        "Partial", "False", "--", "--", "True", "--", "True", "Partial"]


def test_prints_unless_quiet(capsys):
    model = lenet(numtorch)
    stats = summary(model, input_size=(1, 1, 32, 32))
    assert capsys.readouterr().out == str(stats) + "\n"
    summary(model, input_size=(1, 1, 32, 32), verbose=0)
    assert capsys.readouterr().out == ""


def test_forward_runs_in_eval_without_grad_and_restores_mode():
    seen = []

    class Probe(numtorch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = numtorch.nn.Linear(3, 2)

        def forward(self, x):
            seen.append((self.training, numtorch.is_grad_enabled()))
            return self.lin(x)

    model = Probe()
    model.train()
    summary(model, input_size=(4, 3), verbose=0)
    assert seen == [(False, False)] and model.training
    summary(model, input_size=(4, 3), verbose=0, mode="train")
    assert seen[-1] == (True, False)
    model.eval()
    summary(model, input_size=(4, 3), verbose=0, mode="train")
    assert not model.training


def test_hooks_are_removed():
    model = shared(numtorch)
    first = summary(model, input_size=(3, 4), verbose=0)
    second = summary(model, input_size=(3, 4), verbose=0)
    assert str(first) == str(second)
    assert len(second.summary_list) == 10
    calls = []
    model.l.register_forward_hook(lambda m, i, o: calls.append(1))
    model(numtorch.ones(3, 4))
    assert calls == [1, 1]


def test_input_forms():
    model = numtorch.nn.Sequential(numtorch.nn.Linear(3, 2))
    for kwargs in [dict(input_size=(5, 3)), dict(input_size=[5, 3]), dict(input_size=[(5, 3)]),
                   dict(input_data=numtorch.ones(5, 3)), dict(input_data=[numtorch.ones(5, 3)])]:
        stats = summary(model, verbose=0, **kwargs)
        assert stats.summary_list[1].output_size == [5, 2], kwargs
        assert stats.total_input == 5 * 3 * 4 + 64
    stats = summary(model, input_size=(3,), batch_dim=0, verbose=0)
    assert stats.summary_list[0].input_size == [1, 3]


def test_bad_arguments():
    model = numtorch.nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="Only one of"):
        summary(model, input_size=(1, 3), input_data=numtorch.ones(1, 3), verbose=0)
    with pytest.raises(ValueError, match="input_data or input_size"):
        summary(model, col_names=("output_size",), verbose=0)
    with pytest.raises(ValueError):
        summary(model, input_size=(1, 3), verbose=3)
    with pytest.raises(ValueError):
        summary(model, input_size=(1, 3), col_width=0, verbose=0)
    with pytest.raises(ValueError):
        summary(model, input_size=(1, -3), verbose=0)
    with pytest.raises(TypeError):
        summary(model, input_size=3, verbose=0)
    with pytest.raises(ValueError):
        summary(model, input_size=(1, 3), col_names=("colour",), verbose=0)
    with pytest.raises(RuntimeError, match="Failed to run summary") as info:
        summary(model, input_size=(1, 4), verbose=0)
    assert info.value.__cause__ is not None


def test_single_layer_model():
    stats = summary(numtorch.nn.Linear(3, 2), input_size=(4, 3), verbose=0,
                    col_names=("output_size", "num_params", "mult_adds"))
    (row,) = stats.summary_list
    assert row.is_leaf_layer and row.output_size == [4, 2] and row.macs == 4 * 8
    assert stats.total_params == 8 and stats.total_output_bytes == 4 * 2 * 4 * 2


def test_exported_as_numtorch_summary():
    assert numtorch.summary is _summary.summary
