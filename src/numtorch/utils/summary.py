"""``numtorch.summary``: a table of a model's layers, output shapes and parameter counts.

The layout, the numbers and the memory estimate follow torchinfo's ``summary`` so that a table
printed for a numtorch model reads exactly as torchinfo prints it for the same PyTorch model::

    >>> summary(net, input_size=(1, 1, 32, 32))
    ==========================================================================================
    Layer (type:depth-idx)                   Output Shape              Param #
    ==========================================================================================
    Net                                      [1, 10]                   --
    ├─Conv2d: 1-1                            [1, 6, 28, 28]            156
    ...
    Total params: 61,706

One difference: the mult-adds line reads ``Total mult-adds (M): 0.42``; torchinfo 1.8 running on
Python 3.11 or later prints its unit enum there (``(Units.MEGABYTES)``), which is a bug in it.
"""

import math
import sys

import numpy as np

import numtorch

__all__ = ["LayerInfo", "ModelStatistics", "summary"]

COLUMNS = ("input_size", "output_size", "num_params", "params_percent", "kernel_size",
           "mult_adds", "trainable")
HEADER_TITLES = {"kernel_size": "Kernel Shape", "input_size": "Input Shape",
                 "output_size": "Output Shape", "num_params": "Param #",
                 "params_percent": "Param %", "mult_adds": "Mult-Adds",
                 "trainable": "Trainable"}
ROW_SETTINGS = ("depth", "var_names", "ascii_only", "hide_recursive_layers")
_NEEDS_INPUT = ("input_size", "output_size", "mult_adds")
# torchinfo measures an input tensor as sys.getsizeof of its storage: the data plus this header.
_STORAGE_HEADER_BYTES = 64


def _prod(shape):
    n = 1
    for s in shape:
        n *= _prod(s) if isinstance(s, (list, tuple)) else s
    return n


def _is_tensor(value):
    return hasattr(value, "grad_fn") and hasattr(value, "shape")


def _size_of(value):
    """Shape (as a list) and element size in bytes of a layer's input or output.

    For a tuple or list this is the first tensor's, for a dict the last value's, as torchinfo
    reports them.
    """
    if value is None:
        return [], 0
    if _is_tensor(value):
        return list(value.shape), value.element_size()
    if isinstance(value, np.ndarray):
        return list(value.shape), value.itemsize
    if isinstance(value, dict):
        return _size_of(list(value.values())[-1]) if value else ([], 0)
    if isinstance(value, (list, tuple)):
        return _size_of(value[0]) if value else ([], 0)
    raise TypeError("Model contains a layer with an unsupported input or output type: "
                    f"{value}, type: {type(value)}")


class LayerInfo:
    """What the summary knows about one call of one module (one row of the table)."""

    def __init__(self, var_name, module, depth, parent_info=None):
        self.layer_id = id(module)
        self.module = module
        self.class_name = type(module).__name__
        self.var_name = var_name
        self.depth = depth
        self.depth_index = None
        self.parent_info = parent_info
        self.children = []  # every row nested below this one, set at the end
        self.inner_layers = {}
        self.executed = False
        self.is_leaf_layer = not any(True for _ in module.children())
        self.is_recursive = False
        self.input_size = []
        self.output_size = []
        self.kernel_size = self._kernel_size(module)
        self.num_params = 0
        self.trainable_params = 0
        self.param_bytes = 0
        self.output_bytes = 0
        self.macs = 0

    def __repr__(self):
        return f"{self.class_name}: {self.depth}"

    @staticmethod
    def _kernel_size(module):
        k = getattr(module, "kernel_size", None)
        if k is None:
            return None
        return list(k) if isinstance(k, (list, tuple)) else int(k)

    @property
    def trainable(self):
        """``"True"``, ``"False"``, ``"Partial"``, or ``"--"`` for a layer without parameters."""
        if self.num_params == 0:
            return "--"
        if self.trainable_params == 0:
            return "False"
        return "True" if self.trainable_params == self.num_params else "Partial"

    def calculate_num_params(self):
        """Count this module's parameters (its children's included) and list them for verbose."""
        self.num_params = self.trainable_params = self.param_bytes = 0
        self.inner_layers = {}
        for name, param in self.module.named_parameters():
            n = param.numel()
            self.num_params += n
            self.param_bytes += n * param.element_size()
            if param.requires_grad:
                self.trainable_params += n
            if self.parent_info is not None or "." not in name:
                shape = list(param.shape)
                if name == "weight" and len(shape) > 1:
                    shape[0], shape[1] = shape[1], shape[0]
                self.inner_layers[name] = {"kernel_size": str(shape),
                                           "num_params": f"├─{n:,}"}
        if self.inner_layers:
            last = self.inner_layers[list(self.inner_layers)[-1]]
            last["num_params"] = "└─" + last["num_params"][2:]

    def calculate_macs(self):
        """Multiply-adds of one call, counted from the parameters and the output shape."""
        out = self.output_size
        for name, param in self.module.named_parameters():
            n = param.numel()
            if name in ("weight", "bias"):
                if "Conv" in self.class_name:  # every weight is used once per output position
                    self.macs += n * _prod(out[:1] + out[2:])
                else:
                    self.macs += out[0] * n
            elif "weight" in name or "bias" in name:
                self.macs += _prod(out[:2]) * n

    def leftover_params(self):
        """Parameters of this module that none of the rows below it count."""
        return self.num_params - sum(
            c.num_params if c.is_leaf_layer else c.leftover_params()
            for c in self.children if not c.is_recursive)

    def leftover_trainable_params(self):
        return self.trainable_params - sum(
            c.trainable_params if c.is_leaf_layer else c.leftover_trainable_params()
            for c in self.children if not c.is_recursive)

    def layer_name(self, show_var_name, show_depth):
        name = self.class_name
        if show_var_name and self.var_name:
            name += f" ({self.var_name})"
        if show_depth and self.depth > 0:
            name += f": {self.depth}"
            if self.depth_index is not None:
                name += f"-{self.depth_index}"
        return name

    # ------------------------------------------------------------------ cells of the table
    def num_params_str(self, at_max_depth):
        if self.num_params == 0:
            return "--"
        if self.is_recursive:
            return "(recursive)"
        if at_max_depth or self.is_leaf_layer:
            text = f"{self.num_params:,}"
            return text if self.trainable_params else f"({text})"
        left = self.leftover_params()
        return f"{left:,}" if left > 0 else "--"

    def params_percent_str(self, total_params, at_max_depth):
        if total_params == 0:
            return "     --"
        if self.is_recursive:
            return "(recursive)"
        n = self.num_params if at_max_depth or self.is_leaf_layer else self.leftover_params()
        return f"{n / total_params:>7.2%}" if n else "     --"

    def macs_str(self, at_max_depth):
        if self.macs <= 0:
            return "--"
        if self.is_leaf_layer:
            return f"{self.macs:,}"
        if at_max_depth:
            return f"{sum(c.macs for c in self.children if c.is_leaf_layer):,}"
        return "--"


class _Formatting:
    """Column choice and widths of the table."""

    def __init__(self, max_depth, verbose, col_names, col_width, row_settings):
        self.max_depth = max_depth
        self.verbose = verbose
        self.col_names = col_names
        self.col_width = col_width
        self.ascii_only = "ascii_only" in row_settings
        self.show_var_name = "var_names" in row_settings
        self.show_depth = "depth" in row_settings
        self.hide_recursive_layers = "hide_recursive_layers" in row_settings
        self.layer_name_width = 40

    def fit_layer_names(self, rows, align=5):
        longest = max((len(r.layer_name(self.show_var_name, self.show_depth)) + r.depth * align
                       + 1 for r in rows), default=0)
        if longest >= self.layer_name_width:
            self.layer_name_width = math.ceil(longest / align) * align

    def total_width(self):
        return len(self.col_names) * self.col_width + self.layer_name_width

    def tree_prefix(self, depth):
        if depth == 0:
            return ""
        if depth == 1:
            return "+ " if self.ascii_only else "├─"
        return ("|    " if self.ascii_only else "│    ") * (depth - 1) + (
            "+ " if self.ascii_only else "└─")

    def format_row(self, name, values):
        line = f"{name:<{self.layer_name_width}} "
        for col in self.col_names:
            line += f"{values.get(col, ''):<{self.col_width}} "
        return line.rstrip() + "\n"

    def header_row(self):
        title = "Layer (type"
        if self.show_var_name:
            title += " (var_name)"
        if self.show_depth:
            title += ":depth-idx"
        return self.format_row(title + ")", HEADER_TITLES)

    def layer_row(self, row, at_max_depth, total_params):
        values = {
            "kernel_size": _cell(row.kernel_size),
            "input_size": _cell(row.input_size),
            "output_size": _cell(row.output_size),
            "num_params": row.num_params_str(at_max_depth),
            "params_percent": row.params_percent_str(total_params, at_max_depth),
            "mult_adds": row.macs_str(at_max_depth),
            "trainable": _cell(row.trainable),
        }
        name = self.tree_prefix(row.depth) + row.layer_name(self.show_var_name, self.show_depth)
        text = self.format_row(name, values)
        if self.verbose == 2:
            prefix = self.tree_prefix(row.depth + 1)
            for inner_name, inner in row.inner_layers.items():
                text += self.format_row(prefix + inner_name, inner)
        return text

    def layers_str(self, rows, total_params):
        text = ""
        for row in rows:
            if row.depth > self.max_depth or (self.hide_recursive_layers and row.is_recursive):
                continue
            text += self.layer_row(row, row.depth == self.max_depth, total_params)
        return text


def _cell(value):
    return str(value) if value else "--"


class ModelStatistics:
    """The result of :func:`summary`: ``str()`` of it is the table.

    Attributes:
        summary_list (list of LayerInfo): one entry per row (per module call).
        total_params, trainable_params (int): parameter counts (shared modules counted once).
        total_mult_adds (int): multiply-adds of one forward pass.
        total_input (int): bytes of the input tensors.
        total_output_bytes (int): bytes kept for forward/backward (outputs of layers with
            parameters, twice: once for the value and once for its gradient).
        total_param_bytes (int): bytes of the parameters.
    """

    def __init__(self, summary_list, input_size, total_input_size, formatting):
        self.summary_list = summary_list
        self.input_size = input_size
        self.formatting = formatting
        self.total_input = total_input_size
        self.total_mult_adds = 0
        self.total_params = self.trainable_params = 0
        self.total_param_bytes = self.total_output_bytes = 0
        for row in summary_list:
            if row.is_leaf_layer:
                self.total_mult_adds += row.macs
                if row.num_params > 0:
                    self.total_output_bytes += row.output_bytes * 2
                if row.is_recursive:
                    continue
                self.total_params += max(row.num_params, 0)
                self.total_param_bytes += row.param_bytes
                self.trainable_params += max(row.trainable_params, 0)
            elif not row.is_recursive:
                self.total_params += max(row.leftover_params(), 0)
                self.trainable_params += max(row.leftover_trainable_params(), 0)
        formatting.fit_layer_names(summary_list)

    @property
    def non_trainable_params(self):
        return self.total_params - self.trainable_params

    @staticmethod
    def to_megabytes(num):
        return num / 1e6

    @staticmethod
    def _count_str(num, auto_units):
        unit, factor = "", 1
        if auto_units:
            unit, factor = ("T", 1e12) if num >= 1e12 else ("G", 1e9) if num >= 1e9 else \
                ("M", 1e6)
        value = num / factor
        shown = f"{int(value):,d}" if float(value).is_integer() else f"{value:,.2f}"
        return f"{f' ({unit})' if unit else ''}: {shown}"

    def __str__(self):
        fmt = self.formatting
        rule = "=" * fmt.total_width()
        text = (f"{rule}\n{fmt.header_row()}{rule}\n"
                f"{fmt.layers_str(self.summary_list, self.total_params)}{rule}\n"
                f"Total params{self._count_str(self.total_params, False)}\n"
                f"Trainable params{self._count_str(self.trainable_params, False)}\n"
                f"Non-trainable params{self._count_str(self.non_trainable_params, False)}\n")
        if self.input_size:
            mb = self.to_megabytes
            total = self.total_input + self.total_output_bytes + self.total_param_bytes
            text += (f"Total mult-adds{self._count_str(self.total_mult_adds, True)}\n{rule}\n"
                     f"Input size (MB): {mb(self.total_input):0.2f}\n"
                     f"Forward/backward pass size (MB): {mb(self.total_output_bytes):0.2f}\n"
                     f"Params size (MB): {mb(self.total_param_bytes):0.2f}\n"
                     f"Estimated Total Size (MB): {mb(total):0.2f}\n")
        return text + rule

    __repr__ = __str__


# ---------------------------------------------------------------------------------- running
def _module_tree(model):
    """A :class:`LayerInfo` for every position of every module, depth first.

    A module reachable twice appears at each position (the rows of a summary without input).
    """
    order = []
    stack = [(type(model).__name__, model, 0, None)]
    while stack:
        name, module, depth, parent = stack.pop()
        info = LayerInfo(name, module, depth, parent)
        order.append(info)
        children = [(n, m) for n, m in module._modules.items() if m is not None]
        stack.extend((n, m, depth + 1, info) for n, m in reversed(children))
    return order


def _record_pass(model, x, kwargs):
    """Run ``model`` on ``x`` with hooks on every module; one LayerInfo per module call."""
    rows, seen, current = [], set(), {}
    handles = []

    def make_hooks(template):
        def pre_hook(module, inputs):
            info = LayerInfo(template.var_name, module, template.depth, template.parent_info)
            info.calculate_num_params()
            info.is_recursive = info.layer_id in seen
            seen.add(info.layer_id)
            rows.append(info)
            current[id(module)] = info

        def hook(module, inputs, outputs):
            info = current[id(module)]
            info.input_size, _ = _size_of(inputs)
            info.output_size, elem_bytes = _size_of(outputs)
            info.output_bytes = elem_bytes * _prod(info.output_size)
            info.executed = True
            info.calculate_macs()

        return pre_hook, hook

    # A module reachable at several positions is hooked once, with its last position's name
    # and depth (as torchinfo's hooks, registered last there, leave it).
    last_position = {id(info.module): info for info in _module_tree(model)}
    for template in last_position.values():
        pre_hook, hook = make_hooks(template)
        handles += (template.module.register_forward_pre_hook(pre_hook),
                    template.module.register_forward_hook(hook))
    try:
        if isinstance(x, dict):
            model(**x, **kwargs)
        else:
            model(*x, **kwargs)
    except Exception as e:
        executed = [r for r in rows if r.executed]
        raise RuntimeError("Failed to run summary. See above stack traces for more details. "
                           f"Executed layers up to: {executed}") from e
    finally:
        for h in handles:
            h.remove()
    _add_missing_containers(rows)
    return rows


def _add_missing_containers(rows):
    """Insert rows for container modules that were never called (e.g. a ``ModuleList``)."""
    seen = {r.layer_id for r in rows}
    shown = {}  # depth -> row currently open at that depth
    i = 0
    while i < len(rows):
        row = rows[i]
        chain = {}
        parent = row.parent_info
        while parent is not None and parent.depth > 0:
            chain[parent.depth] = parent
            parent = parent.parent_info
        for d in range(1, row.depth):
            if (d not in shown or shown[d].module is not chain[d].module) and \
                    (i == 0 or rows[i - 1] is not chain[d]):
                missing = chain[d]
                missing.calculate_num_params()
                missing.is_recursive = missing.layer_id in seen
                seen.add(missing.layer_id)
                rows.insert(i, missing)
                shown[d] = missing
                i += 1
        shown[row.depth] = row
        d = row.depth + 1
        while d in shown:
            del shown[d]
            d += 1
        i += 1


def _set_children(rows):
    index = {}
    for i, row in enumerate(rows):
        index[row.depth] = index.get(row.depth, 0) + 1
        row.depth_index = index[row.depth]
        j = i + 1
        while j < len(rows) and rows[j].depth > row.depth:
            j += 1
        row.children = rows[i + 1:j]


def _correct_input_size(input_size):
    if not isinstance(input_size, (list, tuple)):
        raise TypeError("Input_size is not a recognized type. Please ensure input_size is valid.\n"
                        "For multiple inputs to the network, ensure input_size is a list of "
                        "tuple sizes.")
    if not input_size or any(s <= 0 for s in _flatten(input_size)):
        raise ValueError("Input_data is invalid, or negative size found in input_data.")
    if isinstance(input_size, list) and isinstance(input_size[0], int):
        return [tuple(input_size)]
    if isinstance(input_size, list):
        return input_size
    if isinstance(input_size[0], (list, tuple)):
        return list(input_size)
    return [input_size]


def _flatten(nested):
    for item in nested:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item


def _map_tensors(data, fn):
    """Apply ``fn`` to every tensor in nested lists, tuples and dicts, keeping the structure."""
    if _is_tensor(data):
        return fn(data)
    if isinstance(data, dict):
        return {k: _map_tensors(v, fn) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and not isinstance(data, str):
        return type(data)(_map_tensors(v, fn) for v in data)
    return data


def _total_bytes(data):
    if _is_tensor(data):
        return data.numel() * data.element_size() + _STORAGE_HEADER_BYTES
    if isinstance(data, dict):
        return sum(_total_bytes(v) for v in data.values())
    if isinstance(data, (list, tuple)):
        return sum(_total_bytes(v) for v in data)
    return 0


def _prepare_input(input_data, input_size, batch_dim, dtypes):

    if input_data is not None:
        if isinstance(input_data, np.ndarray):
            input_data = numtorch.from_numpy(input_data)
        sizes = _map_tensors(input_data, lambda t: t.size())
        x = [input_data] if _is_tensor(input_data) else input_data
        return x, sizes
    if input_size is not None:
        sizes = _correct_input_size(input_size)
        if dtypes is None:
            dtypes = [numtorch.float32] * len(sizes)
        x = []
        for size, dtype in zip(sizes, dtypes):
            t = numtorch.rand(*size)
            if batch_dim is not None:
                t = t.unsqueeze(batch_dim)
            x.append(t.to(dtype))
        return x, sizes
    return None, []


def summary(model, input_size=None, input_data=None, batch_dim=None, cache_forward_pass=None,
            col_names=None, col_width=25, depth=3, device=None, dtypes=None, mode=None,
            row_settings=None, verbose=None, **kwargs):
    """Summarize a model: its layers, their output shapes and parameter counts, and totals.

    With ``input_size`` or ``input_data`` one forward pass runs (in eval mode, without grad)
    with hooks on every submodule that record each call's input and output shapes; without
    either, the table lists the modules and their parameters only. The table is torchinfo's.

    Args:
        model (Module): the model to summarize.
        input_size (sequence of ints, or a list of them for several inputs): shape(s) of
            random inputs to run, batch dimension included.
        input_data (Tensor, sequence or dict of Tensors): the forward's arguments instead.
        batch_dim (int, optional): add a batch dimension of 1 at this position to inputs made
            from ``input_size``.
        cache_forward_pass (bool, optional): accepted for torchinfo compatibility; ignored.
        col_names (iterable of str): columns among ``"input_size"``, ``"output_size"``,
            ``"num_params"``, ``"params_percent"``, ``"kernel_size"``, ``"mult_adds"``,
            ``"trainable"``. Default: ``("output_size", "num_params")``, or ``("num_params",)``
            without an input.
        col_width (int): width of each column. Default: 25.
        depth (int): deepest level of nested modules to show. Default: 3.
        device: accepted for compatibility; numtorch runs on the CPU.
        dtypes (list of dtypes, optional): dtypes of the inputs made from ``input_size``.
            Default: float32.
        mode (str, optional): ``"train"`` or ``"eval"`` (default) for the forward pass.
        row_settings (iterable of str): among ``"depth"`` (default), ``"var_names"``,
            ``"ascii_only"``, ``"hide_recursive_layers"``.
        verbose (int, optional): 0 prints nothing, 1 prints the table, 2 also lists each
            layer's weights. Default: 1 (0 in an interactive session).
        **kwargs: further keyword arguments for ``model.forward``.

    Returns:
        ModelStatistics: ``str()`` of it is the table; it holds ``total_params``,
        ``trainable_params``, ``total_mult_adds`` and the byte counts.
    """

    del cache_forward_pass, device
    have_input = input_data is not None or input_size is not None
    if col_names is None:
        columns = ("output_size", "num_params") if have_input else ("num_params",)
    else:
        columns = tuple(_check_choice(c, COLUMNS, "column") for c in col_names)
    rows_set = {"depth"} if row_settings is None else {
        _check_choice(r, ROW_SETTINGS, "row setting") for r in row_settings}
    if mode is None:
        mode = "eval"
    if mode not in ("train", "eval"):
        raise ValueError(f"'{mode}' is not a valid Mode")
    if verbose is None:
        verbose = 0 if getattr(sys, "ps1", None) else 1
    if col_width <= 0:
        raise ValueError(f"Column width must be greater than 0: col_width={col_width}")
    if verbose not in (0, 1, 2):
        raise ValueError("Verbose must be either 0 (quiet), 1 (default), or 2 (verbose).")
    if input_data is not None and input_size is not None:
        raise RuntimeError("Only one of (input_data, input_size) should be specified.")
    missing = [c for c in columns if c in _NEEDS_INPUT]
    if not have_input and missing:
        raise ValueError(f"You must pass input_data or input_size in order to use columns: "
                         f"{set(missing)}")

    x, sizes = _prepare_input(input_data, input_size, batch_dim, dtypes)
    if x is None:
        rows = _module_tree(model)
        seen = set()
        for row in rows:
            row.calculate_num_params()
            row.is_recursive = row.layer_id in seen
            seen.add(row.layer_id)
    else:
        was_training = model.training
        try:
            model.train(mode == "train")
            with numtorch.no_grad():
                rows = _record_pass(model, x, kwargs)
        finally:
            model.train(was_training)
    _set_children(rows)
    formatting = _Formatting(depth, verbose, columns, col_width, rows_set)
    results = ModelStatistics(rows, sizes, _total_bytes(x), formatting)
    if verbose > 0:
        print(results)
    return results


def _check_choice(value, choices, what):
    value = str(getattr(value, "value", value))
    if value not in choices:
        raise ValueError(f"'{value}' is not a valid {what}; expected one of {choices}")
    return value
