"""Checks added on review of nn/ and the ops it leans on: layering and shared helpers."""

import ast
import pathlib

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
