"""Suite-wide settings: the torch oracle runs single-threaded; the ``jit_kernels`` fixture; the
``slow``, ``torch`` and ``jit`` markers, applied here so that test files need not carry them.

On a 2-core machine shared with other work, torch's default thread pool makes each small oracle
call several times slower; one thread keeps the suite fast and changes no result.

``python -m pytest -m "not slow"`` is the quick loop while developing (CI runs everything);
``-m "not torch"`` leaves out the comparisons with PyTorch, ``-m "not jit"`` numba's kernels.
"""

import numpy as np
import pytest

from numtorch.ops import _jit
from numtorch.ops import conv as conv_ops

try:
    import torch
except ImportError:
    torch = None

if torch is not None:
    torch.set_num_threads(1)


@pytest.fixture(params=["numpy", "numba"])
def jit_kernels(request, monkeypatch):
    """Runs a test on the pure-NumPy kernels and, when numba is installed, again on the compiled
    ones (``numtorch.ops._jit``). Modules opt in with ``pytestmark``."""
    if request.param == "numba":
        skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", request.param == "numba")
    return request.param


@pytest.fixture
def stem_only_direct_convolutions(monkeypatch):
    """The compiled direct convolution kernels (``ops/_conv_small_jit``, tested in
    ``test_conv_small.py``) limited to the stride-1 convolutions of few input channels of a
    stem, as when they were made: modules whose small shapes of 8-32 channels test the
    Winograd, rows and gather paths opt in with ``pytestmark`` (the direct kernels would take
    those shapes now)."""
    monkeypatch.setattr(conv_ops, "_SMALL_MAX_CHANNELS", 4)
    monkeypatch.setattr(conv_ops, "_SMALL_WEIGHT_MAX_CHANNELS", 4)
    monkeypatch.setattr(conv_ops, "_SMALL_S2_MAX_CHANNELS", 0)


def skip_without_numba():
    """Skip the calling test unless numtorch can use its compiled kernels here."""
    saved = _jit.ENABLED
    _jit.ENABLED = True
    try:
        usable = _jit.kernels(np.empty(1, np.float32)) is not None
    finally:
        _jit.ENABLED = saved
    if not usable:
        pytest.skip(f"numba kernels unavailable ({_jit.unavailable_reason or 'numba missing'})")


# Tests marked ``slow`` (measured with `--durations=0` on the 2-core machine): those that start
# processes (the script corpus, DataLoader workers, the docs generator) or train a network, each
# 0.3 s or more, and the largest tables of step-by-step comparisons with PyTorch. Keys are paths
# under tests/, values test functions, or "*" for a whole file (tests/test_project_files.py
# checks that every name still exists).
SLOW = {
    "compat/test_compat.py": "*",
    "compat/test_gen_compat_doc.py": {"test_generator_reports_coverage_from_the_code"},
    "compat/test_run_hook.py": {"test_python_dash_m_numtorch_run",
                                "test_dataloader_workers_see_numtorch_too",
                                "test_torchvision_models_utils_io_and_functional_are_served"},
    "test_autograd.py": {"test_deep_chain_is_iterative"},
    "test_benchmarks.py": "*",
    "test_bfloat16.py": {"test_import_leaves_ml_dtypes_until_bfloat16_is_used"},
    "test_cli.py": {"test_end_to_end_run_prints_and_writes_everything",
                    "test_python_dash_m_numtorch", "test_data_directory_of_idx_files",
                    "test_same_seed_same_numbers", "test_resume_continues_exactly",
                    "test_optimizers_and_schedules_run", "test_corrupt_data_file_is_a_clear_error",
                    # these share the module fixture ``trained``, a 2-epoch training run
                    "test_checkpoint_loads_into_a_fresh_model_with_the_same_predictions",
                    "test_short_training_learns", "test_predict_reads_a_png_of_a_test_digit",
                    "test_predict_accepts_npy_and_a_bare_state_dict",
                    "test_predict_without_pillow", "test_predict_errors"},
    "test_data.py": {"test_worker_errors_reach_the_main_process",
                     "test_workers_with_batch_sampler_out_of_order_and_early_exit",
                     "test_workers_give_the_same_batches_as_the_main_process",
                     "test_worker_info_seed_and_init_fn",
                     "test_persistent_workers_and_iterable_sharding"},
    "test_distributions.py": {"test_against_torch"},  # 58 cases
    "test_jit.py": {"test_fused_sgd_momentum_equals_numpy_path_and_torch",
                    "test_environment_variable_turns_the_kernels_off"},
    "test_lenet_walkthrough.py": {"test_walkthrough_prints_what_torch_prints",
                                  "test_walkthrough_exact_lines",
                                  "test_backward_graph_matches_torch"},
    "test_lr_scheduler.py": {"test_schedule_matches_torch"},  # 134 cases of 45 steps
    "test_malloc.py": {"test_repeated_large_temporaries_stop_page_faulting",
                       "test_user_choice_wins", "test_applied_on_import_with_glibc"},
    "test_optim.py": {"test_float32_matches_torch", "test_float64_matches_torch"},  # 120 cases
    "test_serialization.py": {"test_works_without_torch"},
    # subprocesses: MPI ranks, the launcher, spawned processes, hostile-file children
    "test_distributed.py": "*",
    "test_distributed_ddp.py": "*",
    "test_distributed_run.py": "*",
    "test_multiprocessing.py": "*",
    "test_onnx_apps.py": "*",
    "test_reliability.py": {"test_load_refuses_devices_at_once",
                            "test_save_cleans_up_its_temporaries",
                            "test_deflated_pickle_bomb_is_refused_before_inflating",
                            "test_a_killed_worker_is_reported_as_killed_at_once",
                            "test_deflated_storage_bomb_is_refused",
                            "test_a_batch_that_cannot_be_pickled_raises_in_the_main_process"},
    "test_higher_order.py": {"test_dropping_a_leaf_frees_it_without_the_cyclic_collector"},
    "test_checkpoint.py": {"test_checkpoint_lowers_peak_memory"},
    "test_onnx.py": {"test_same_outputs_as_pytorchs_export"},
    # mypy analyses numtorch (seconds with a warm cache, a minute cold)
    "typing/test_typing_nn_optim_data.py": {
        "test_mypy_accepts_the_program_and_rejects_the_mistakes"},
    # mypy in a subprocess: 1-2 s with its cache, about 15 s without; a fresh import numtorch
    "test_typing.py": {"test_user_program_type_checks",
                       "test_mypy_reports_exactly_the_mistakes_in_user_errors",
                       "test_namespace_stub_declares_every_public_name"},
}


def _is_slow(item):
    try:
        path = item.path.relative_to(item.config.rootpath / "tests").as_posix()
    except ValueError:
        return False
    names = SLOW.get(path, ())
    return names == "*" or getattr(item, "originalname", item.name) in names


def _uses_torch(item):
    """Whether the test compares with PyTorch: a module-level ``torch = importorskip("torch")``,
    a ``torch`` fixture, or an ``importorskip("torch")`` in the test's own body."""
    module_torch = getattr(getattr(item, "module", None), "torch", None)
    if getattr(module_torch, "__name__", None) == "torch":
        return True
    if "torch" in getattr(item, "fixturenames", ()):
        return True
    code = getattr(getattr(item, "function", None), "__code__", None)
    return code is not None and "importorskip" in code.co_names and "torch" in code.co_consts


def _uses_jit(item):
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("jit_kernels") == "numba":
        return True
    if item.path.name == "test_jit.py":
        return True
    code = getattr(getattr(item, "function", None), "__code__", None)
    return code is not None and "skip_without_numba" in code.co_names


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)
        if _uses_torch(item):
            item.add_marker(pytest.mark.torch)
        if _uses_jit(item):
            item.add_marker(pytest.mark.jit)
