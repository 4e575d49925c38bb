"""``numtorch run`` / ``python -m numtorch.run`` and the import hook of ``numtorch.compat``."""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import numtorch
import numtorch.compat as compat
from numtorch import run

SRC = Path(__file__).resolve().parent.parent.parent / "src"


def write(path, source):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def run_script(capsys, script, *args):
    """``numtorch.run.main`` in this process: (exit status, stdout, stderr)."""
    status = run.main([str(script), *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_script_sees_argv_main_file_and_its_directory(tmp_path, capsys, monkeypatch):
    write(tmp_path / "proj" / "data.txt", "hello\n")
    write(tmp_path / "proj" / "helper.py", "VALUE = 42\n")
    script = write(tmp_path / "proj" / "prog.py", """
        import json, os, sys
        import helper
        import torch
        here = os.path.dirname(__file__)
        with open(os.path.join(here, "data.txt")) as f:
            data = f.read().strip()
        with open("data.txt") as f:  # relative to the working directory, as with python
            cwd_data = f.read().strip()
        print(json.dumps({"argv": sys.argv, "name": __name__, "file": __file__,
                          "path0": sys.path[0], "data": data, "cwd_data": cwd_data,
                          "helper": helper.VALUE, "tensor": torch.tensor([1, 2]).tolist(),
                          "main": sys.modules["__main__"].__dict__ is globals()}))
    """)
    monkeypatch.chdir(tmp_path / "proj")
    saved_argv, saved_path, saved_main = sys.argv[:], sys.path[:], sys.modules["__main__"]
    status, out, err = run_script(capsys, "prog.py", "--lr", "0.1", "x y")
    assert status == 0, err
    seen = json.loads(out)
    assert seen["argv"] == ["prog.py", "--lr", "0.1", "x y"]
    assert seen["name"] == "__main__" and seen["main"]
    assert seen["file"] == str(script)
    assert seen["path0"] == os.path.realpath(tmp_path / "proj")
    assert (seen["data"], seen["cwd_data"], seen["helper"]) == ("hello", "hello", 42)
    assert seen["tensor"] == [1, 2]
    assert (sys.argv, sys.path, sys.modules["__main__"]) == (saved_argv, saved_path, saved_main)
    assert not compat.is_installed()


@pytest.mark.parametrize("body, status", [
    ("print('done')", 0),
    ("import sys; sys.exit(3)", 3),
    ("import sys; sys.exit()", 0),
    ("import sys; sys.exit(0)", 0),
    ("raise SystemExit(7)", 7),
    ("import sys; sys.exit(True)", 1),
])
def test_exit_status_is_what_the_script_asks_for(tmp_path, capsys, body, status):
    script = write(tmp_path / "prog.py", "import torch\n" + body + "\n")
    assert run_script(capsys, script)[0] == status


def test_exit_with_a_message_prints_it_and_returns_1(tmp_path, capsys):
    script = write(tmp_path / "prog.py", "import sys\nsys.exit('bad configuration')\n")
    status, _, err = run_script(capsys, script)
    assert status == 1
    assert err.strip() == "bad configuration"


def test_uncaught_exception_gives_status_1_and_the_scripts_traceback(tmp_path, capsys):
    script = write(tmp_path / "prog.py", """
        import torch

        def f(x):
            return x.view(5)

        print("before")
        f(torch.zeros(2, 3))
    """)
    status, out, err = run_script(capsys, script)
    assert status == 1
    assert out == "before\n"
    assert err.startswith("Traceback (most recent call last):")
    assert f'File "{script}", line 8, in <module>' in err
    assert "in f" in err
    assert err.rstrip().splitlines()[-1].startswith("RuntimeError")
    assert "runpy" not in err and "run.py" not in err


def test_syntax_error_is_reported_like_python(tmp_path, capsys):
    script = write(tmp_path / "prog.py", "x = (\n")
    status, _, err = run_script(capsys, script)
    assert status == 1
    assert "SyntaxError" in err and str(script) in err and "Traceback" not in err


def test_missing_script_and_no_arguments(tmp_path, capsys):
    assert run.main([str(tmp_path / "nope.py")]) == 2
    assert "can't open file" in capsys.readouterr().err
    assert run.main([]) == 2
    assert "usage: numtorch run" in capsys.readouterr().err
    assert run.main(["--help"]) == 0
    assert "usage" in capsys.readouterr().out


@pytest.mark.parametrize("statement, missing, error", [
    ("import torch.fx as fx", "torch.fx", "ModuleNotFoundError"),
    ("from torch import fx", "torch.fx", "ImportError"),
    ("import torch.distributed.rpc", "torch.distributed.rpc", "ModuleNotFoundError"),
    ("from torch.export import export", "torch.export", "ModuleNotFoundError"),
    ("import torchvision.tv_tensors as tv", "torchvision.tv_tensors", "ModuleNotFoundError"),
    ("from torchvision import tv_tensors", "torchvision.tv_tensors", "ImportError"),
    ("import torch.jit", "torch.jit", "ModuleNotFoundError"),
    ("import torch\ntorch.sparse.sum(torch.zeros(4))", "torch.sparse", "AttributeError"),
    ("import torch.nn as nn\nnn.NoSuchLayer(3)", "torch.nn.NoSuchLayer", "AttributeError"),
])
def test_unprovided_parts_fail_with_a_message_naming_them(tmp_path, capsys, statement, missing,
                                                          error):
    script = write(tmp_path / "prog.py", "import torch\nprint('started')\n" + statement + "\n")
    status, out, err = run_script(capsys, script)
    assert status == 1 and out == "started\n"
    last = err.rstrip().splitlines()[-1]
    assert last.startswith(error + ":"), last
    assert f"{missing} is not provided by numtorch" in last
    assert "compat.py" not in err  # the hook's own frames are left out


def test_namespaces_import_like_modules_and_classes_do_not(tmp_path, capsys):
    script = write(tmp_path / "prog.py", """
        import torch.backends.cudnn as cudnn
        import torch
        cudnn.benchmark = True
        print(torch.backends.cudnn is cudnn, torch.backends.cudnn.benchmark)
        import torch.nn.Linear
    """)
    status, out, err = run_script(capsys, script)
    assert (status, out) == (1, "True True\n")
    assert err.rstrip().splitlines()[-1] == \
        "ModuleNotFoundError: No module named 'torch.nn.Linear'"


def test_probing_for_an_unprovided_module_is_an_import_error(tmp_path, capsys):
    script = write(tmp_path / "prog.py", """
        import importlib.util
        try:
            import torch.fx as fx
        except ImportError:
            fx = None
        import torch
        print(fx is None, hasattr(torch, "sparse"), hasattr(torch, "tensor"))
        print(importlib.util.find_spec("torch.fx"),
              importlib.util.find_spec("torch.nn").name)
    """)
    assert run_script(capsys, script)[:2] == (0, "True False True\nNone torch.nn\n")


def test_torch_submodules_and_torchvision_are_served_by_numtorch(tmp_path, capsys):
    script = write(tmp_path / "prog.py", """
        import numtorch
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import torch.optim as optim
        from torch.optim.lr_scheduler import StepLR
        from torch.utils.data import DataLoader, TensorDataset
        from torch.autograd import Function
        from torch.nn import init, utils
        from torch.nn import *  # noqa: F403
        import torchvision
        from torchvision import datasets, transforms
        import torchvision.transforms as T
        checks = [
            torch.Tensor is numtorch.Tensor, torch.nn is nn, nn.Linear is numtorch.nn.Linear,
            Linear is nn.Linear, F.relu is numtorch.nn.functional.relu,
            optim.SGD is numtorch.optim.SGD, StepLR is numtorch.optim.lr_scheduler.StepLR,
            DataLoader is numtorch.utils.data.DataLoader, Function is numtorch.autograd.Function,
            init.kaiming_uniform_ is numtorch.nn.init.kaiming_uniform_,
            utils.clip_grad_norm_ is numtorch.nn.utils.clip_grad_norm_,
            datasets.MNIST is numtorch.datasets.MNIST, T is transforms,
            transforms.ToTensor is numtorch.datasets.transforms.ToTensor,
            torchvision.datasets is datasets, torch.__version__ == numtorch.__version__,
            isinstance(nn.Linear(2, 3).weight, torch.Tensor),
        ]
        print(checks)
    """)
    status, out, err = run_script(capsys, script)
    assert status == 0, err
    assert out.strip() == str([True] * 17)


def test_torchvision_models_utils_io_and_functional_are_served(tmp_path, capsys):
    script = write(tmp_path / "prog.py", """
        import numtorch
        import torchvision
        import torchvision.models as models
        import torchvision.models.resnet
        import torchvision.transforms.functional as TF
        from torchvision import io, ops
        from torchvision.models import ResNet18_Weights, resnet18
        from torchvision.models.densenet import DenseNet
        from torchvision.transforms import v2 as unused  # noqa: F401
    """)
    status, _, err = run_script(capsys, script)
    assert status == 1
    assert "torchvision.transforms.v2 is not provided by numtorch" in err
    script = write(tmp_path / "prog.py", """
        import numtorch
        import torchvision
        import torchvision.models as models
        import torchvision.models.resnet
        import torchvision.transforms.functional as TF
        from torchvision import io, ops, utils
        from torchvision.models import ResNet18_Weights, resnet18
        from torchvision.models.densenet import DenseNet
        from torchvision.utils import make_grid, save_image
        checks = [
            resnet18 is numtorch.vision.models.resnet18,
            torchvision.models.resnet.ResNet is numtorch.vision.models.resnet.ResNet,
            ResNet18_Weights.DEFAULT is numtorch.vision.models.ResNet18_Weights.IMAGENET1K_V1,
            DenseNet is numtorch.vision.models.DenseNet, models.get_model("resnet18") is not None,
            TF.resize is numtorch.datasets.transforms.functional.resize,
            make_grid is numtorch.vision.utils.make_grid, utils.save_image is save_image,
            io.read_image is numtorch.vision.io.read_image,
            ops.Conv2dNormActivation is numtorch.vision.ops.Conv2dNormActivation,
            models.list_models(module=models) == numtorch.vision.models.list_models(),
            sorted(name for name in models.__dict__ if name.islower() and not
                   name.startswith("__") and callable(models.__dict__[name]))[:3] == [
                "alexnet", "densenet121", "get_model"],
        ]
        print(checks)
    """)
    status, out, err = run_script(capsys, script)
    assert status == 0, err
    assert out.strip() == str([True] * 12)


def test_install_and_uninstall_in_this_process():
    before = {name: module for name, module in sys.modules.items()
              if name.partition(".")[0] in ("torch", "torchvision")}
    if before:
        with pytest.warns(RuntimeWarning, match="imported before"):
            compat.install()
    else:
        compat.install()
    try:
        compat.install()  # twice is harmless
        assert compat.is_installed()
        import torch
        import torch.nn as nn
        assert torch.zeros is numtorch.zeros and nn.Conv2d is numtorch.nn.Conv2d
        assert "numtorch" in repr(torch)
        with pytest.raises(ModuleNotFoundError, match="torch.fx is not provided"):
            import torch.fx  # noqa: F401
        with pytest.raises(AttributeError, match="torch.sparse is not provided by numtorch"):
            torch.sparse  # noqa: B018
    finally:
        compat.uninstall()
    assert not compat.is_installed()
    after = {name: module for name, module in sys.modules.items()
             if name.partition(".")[0] in ("torch", "torchvision")}
    assert after == before


@pytest.mark.parametrize("launcher", [["-m", "numtorch.run"], ["-m", "numtorch", "run"]])
def test_python_dash_m_numtorch_run(tmp_path, launcher):
    write(tmp_path / "scripts" / "prog.py", """
        import os, sys
        import torch
        print(sys.argv[1:], type(torch.ones(1)).__module__.split(".")[0],
              sys.path[0] == os.path.dirname(os.path.realpath(__file__)),
              os.getcwd() not in sys.path)
        sys.exit(int(sys.argv[1]))
    """)
    env = dict(os.environ, PYTHONPATH=str(SRC))
    result = subprocess.run([sys.executable, *launcher, "scripts/prog.py", "3"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    assert result.stdout == "['3'] numtorch True True\n"


def test_numtorch_internals_are_not_mistaken_for_torch_modules(tmp_path, capsys):
    script = write(tmp_path / "prog.py", """
        import torch
        print(hasattr(torch, "ops"), hasattr(torch, "datasets"), "ops" in dir(torch))
        from torch import *  # noqa: F403
        import torch.ops
    """)
    status, out, err = run_script(capsys, script)
    assert (status, out) == (1, "False False False\n")
    assert "torch.ops is not provided by numtorch" in err


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_dataloader_workers_see_numtorch_too(tmp_path, method):
    """Spawned workers import the script again as __mp_main__: they must get the hook as well."""
    write(tmp_path / "prog.py", """
        import sys
        import torch
        from torch.utils.data import DataLoader, Dataset


        class Squares(Dataset):
            def __len__(self):
                return 6

            def __getitem__(self, i):
                return torch.tensor([float(i) ** 2])


        if __name__ == "__main__":
            loader = DataLoader(Squares(), batch_size=3, num_workers=2,
                                multiprocessing_context=sys.argv[1])
            print([batch.flatten().tolist() for batch in loader])
    """)
    env = dict(os.environ, PYTHONPATH=str(SRC))
    result = subprocess.run([sys.executable, "-m", "numtorch.run", "prog.py", method],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == "[[0.0, 1.0, 4.0], [9.0, 16.0, 25.0]]\n"


def test_whole_model_pickled_from_main_round_trips(tmp_path, capsys):
    script = write(tmp_path / "prog.py", """
        import pickle
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(2, 1)


        net = Net()
        back = pickle.loads(pickle.dumps(net))
        same = torch.equal(back.fc.weight, net.fc.weight)
        print(type(back).__name__, type(back).__module__, same)
    """)
    status, out, err = run_script(capsys, script)
    assert status == 0, err
    assert out == "Net __main__ True\n"


def test_a_hook_installed_by_the_user_stays_after_a_run(tmp_path, capsys):
    script = write(tmp_path / "prog.py", "import torch\nprint(torch.ones(1).sum().item())\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        compat.install()
    try:
        assert run_script(capsys, script)[:2] == (0, "1.0\n")
        assert compat.is_installed()
    finally:
        compat.uninstall()
