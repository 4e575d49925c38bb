"""numtorch's glibc malloc thresholds: applied on import where glibc is the allocator, skipped
when the user opts out or set the thresholds already."""

import os
import platform
import subprocess
import sys

import pytest

import numtorch  # noqa: F401  (import applies the setting)
from numtorch import _malloc

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
CODE = "import numtorch._malloc as m, numtorch; print(m.applied)"


def _applied_in_child(**env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("NUMTORCH_MALLOC_TUNING", "MALLOC_MMAP_THRESHOLD_",
                          "MALLOC_TRIM_THRESHOLD_")}
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True,
                         env={**clean, **env})
    return out.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_applied_on_import_with_glibc():
    assert _applied_in_child() == "True"
    assert _malloc.tune() is True  # idempotent


@pytest.mark.parametrize("env", [{"NUMTORCH_MALLOC_TUNING": "0"},
                                 {"MALLOC_MMAP_THRESHOLD_": "1048576"},
                                 {"MALLOC_TRIM_THRESHOLD_": "1048576"}])
def test_user_choice_wins(env):
    assert _applied_in_child(**env) == "False"


def _faults_over_repeated_temporaries(tuned):
    code = ("import resource, numpy as np, numtorch\n"
            "def work():\n"
            "    a = [np.ones(s << 18, np.float32) for s in (1, 3, 5, 7, 9)]\n"
            "for _ in range(3): work()\n"
            "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "for _ in range(10): work()\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "NUMTORCH_MALLOC"))}
    if not tuned:
        env["NUMTORCH_MALLOC_TUNING"] = "0"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    return int(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_repeated_large_temporaries_stop_page_faulting():
    # A step's worth of 1-9 MiB temporaries, allocated and freed again and again: with glibc's
    # defaults they go back to the OS and fault their pages in on every round (about 17,000
    # faults over these 10 rounds on the development machine); kept on the heap they are
    # reused without a fault.
    tuned = _faults_over_repeated_temporaries(True)
    untuned = _faults_over_repeated_temporaries(False)
    assert tuned < 1000
    assert tuned < untuned
