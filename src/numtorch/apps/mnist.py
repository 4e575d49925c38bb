"""``numtorch mnist``: train LeNet-5 on MNIST, report as it goes, and write what it learned.

The job is the classic PyTorch training script, written against numtorch's copy of the API:
``datasets.MNIST`` + ``transforms`` → ``DataLoader`` → ``LeNet5`` → ``cross_entropy`` →
``optim`` (+ an LR schedule). After every epoch it prints the test loss and accuracy and saves a
checkpoint; at the end it writes metrics, the confusion matrix, the test predictions and
pictures (the PNGs with matplotlib, ``graph.svg`` with Graphviz).

Everything random draws from numtorch's generators seeded by ``--seed``, so two runs with the
same options print the same losses and accuracies and save the same weights; only the timings
differ.
"""

import argparse
import csv
import importlib.util
import json
import math
import os
import pickle
import sys
import time

import numpy as np

import numtorch
import numtorch.nn.functional as F
from numtorch import optim
from numtorch.datasets import MNIST, transforms
from numtorch.utils.data import DataLoader, Subset, TensorDataset
from numtorch.utils.viz import make_dot

from . import CommandError, plots
from .models import MODELS, build_model

HELP = "train LeNet-5 (or an MLP) on MNIST; writes a checkpoint, metrics and pictures"

# The mean and standard deviation of MNIST's training pixels (the constants everyone uses).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
OPTIMIZERS = ("sgd", "sgd-momentum", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "onecycle")
# Learning rates that work for LeNet-5 with batch 64 (the peak rate for onecycle).
DEFAULT_LR = {"sgd": 0.1, "sgd-momentum": 0.05, "adam": 3e-3, "adamw": 3e-3, "rmsprop": 1e-3}
DEFAULT_EPOCHS = 10
DEFAULT_ROOT = "data"  # where --download puts MNIST (as data/MNIST/raw/), and looks first
_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
          "t10k-labels-idx1-ubyte")


def add_arguments(parser):
    """The options of ``numtorch mnist``."""
    p = parser
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                   help="passes over the training set (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="default: %(default)s")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (peak rate for onecycle); default depends on the "
                        "optimizer: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()))
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                   help="default: %(default)s")
    p.add_argument("--scheduler", choices=SCHEDULERS, default="onecycle",
                   help="learning-rate schedule (default: %(default)s)")
    p.add_argument("--model", choices=tuple(MODELS), default="lenet",
                   help="lenet: LeNet-5 on 32x32 padded digits; mlp: 784-128-64-10 "
                        "(default: %(default)s)")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="a directory with the MNIST IDX files (train-images-idx3-ubyte[.gz] … "
                        "directly in it or under MNIST/raw/); default: ./data/MNIST/raw/ if "
                        "--download put MNIST there, else the 10,000 digits embedded in "
                        "numtorch (8,000 train / 2,000 test)")
    p.add_argument("--download", action="store_true",
                   help="download the full MNIST (60,000 + 10,000) into --data (default ./data)"
                        " unless it is there already")
    p.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    p.add_argument("--output-dir", metavar="DIR", default=os.path.join("runs", "mnist"),
                   help="where to write the results (default: %(default)s)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="train on the first N training samples only")
    p.add_argument("--test-limit", type=int, default=None, metavar="N",
                   help="test on the first N test samples only")
    p.add_argument("--resume", metavar="CHECKPOINT", default=None,
                   help="continue training from a checkpoint written by this command")
    p.add_argument("--export-onnx", action="store_true",
                   help="also write model.onnx beside the checkpoint (needs numtorch[onnx])")
    p.add_argument("--allow-nan", action="store_true",
                   help="keep training and saving when the loss becomes NaN or infinite (by "
                        "default training stops there and the last good checkpoint is kept)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-plots", action="store_true",
                   help="write no pictures (PNGs and graph.svg)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print only the final result (implies --no-progress)")


def main(args):
    """Run the job for parsed ``args``; return the exit status."""
    train(args)
    return 0


# ---------------------------------------------------------------------------- data
class _FolderMNIST(MNIST):
    """MNIST read from a directory that holds the IDX files directly (no ``MNIST/raw/``)."""

    embedded_files = None

    @property
    def raw_folder(self):
        return self.root


def _has_idx_files(folder):
    return all(os.path.isfile(os.path.join(folder, f)) or
               os.path.isfile(os.path.join(folder, f + ".gz")) for f in _FILES)


def mnist_transform(model_name):
    """The preprocessing for ``model_name``: to ``[0, 1]``, pad to 32×32 for LeNet, normalize."""
    steps = [transforms.ToTensor()]
    if MODELS[model_name].input_size == 32:
        steps.append(transforms.Pad(2))
    steps.append(transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)))
    return transforms.Compose(steps)


def load_datasets(args, transform):
    """``(train_set, test_set, description)`` as chosen by ``--data`` and ``--download``."""
    if args.data is None:  # ./data as --download leaves it, else the embedded sample
        train_set = MNIST(DEFAULT_ROOT, train=True, transform=transform, download=args.download)
        test_set = MNIST(DEFAULT_ROOT, train=False, transform=transform)
        if train_set.source != test_set.source:  # half a copy: don't mix it with the sample
            train_set = MNIST(None, train=True, transform=transform)
            test_set = MNIST(None, train=False, transform=transform)
        if train_set.source == "embedded":
            return train_set, test_set, "embedded sample of 10,000 real MNIST digits"
        return train_set, test_set, f"MNIST in {os.path.abspath(train_set.raw_folder)}"
    if args.download:
        train_set = MNIST(args.data, train=True, transform=transform, download=True)
        test_set = MNIST(args.data, train=False, transform=transform)
        return train_set, test_set, f"MNIST in {os.path.abspath(train_set.raw_folder)}"
    root = os.path.expanduser(args.data)
    if not os.path.isdir(root):
        raise CommandError(f"data directory not found: {args.data}")
    if _has_idx_files(root):
        cls, where = _FolderMNIST, root
    elif _has_idx_files(os.path.join(root, "MNIST", "raw")):
        cls, where = MNIST, os.path.join(root, "MNIST", "raw")
    else:
        raise CommandError(
            f"no MNIST files in {args.data}: expected {', '.join(f + '[.gz]' for f in _FILES)} "
            "in it or in its MNIST/raw/ folder (use --download to fetch them)")
    train_set = cls(root, train=True, transform=transform)
    test_set = cls(root, train=False, transform=transform)
    return train_set, test_set, f"MNIST files in {os.path.abspath(where)}"


def materialize(dataset, limit=None):
    """A :class:`TensorDataset` of the first ``limit`` samples of ``dataset``, transformed.

    The MNIST transforms are deterministic, so they run once here rather than on every epoch;
    the training DataLoader then gathers each batch with one indexing operation.
    """
    n = len(dataset) if limit is None else min(limit, len(dataset))
    if n < len(dataset):
        dataset = Subset(dataset, range(n))
    batches = list(DataLoader(dataset, batch_size=1000))
    images = numtorch.cat([b[0] for b in batches])
    labels = numtorch.cat([b[1] for b in batches])
    return TensorDataset(images, labels)


# ---------------------------------------------------------------------------- optimization
def build_optimizer(name, params, lr):
    """The optimizer called ``name`` on the command line."""
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "sgd-momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def build_scheduler(name, optimizer, lr, epochs, steps_per_epoch):
    """``(scheduler, per_batch)``: the schedule and whether it steps after every batch."""
    if name == "none":
        return None, False
    if name == "step":  # divide the rate by 10 at two thirds of the run
        return optim.lr_scheduler.StepLR(optimizer, step_size=max(1, (2 * epochs) // 3),
                                         gamma=0.1), False
    total = epochs * steps_per_epoch
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total), True
    if name == "onecycle":
        return optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total), True
    raise ValueError(f"unknown scheduler {name!r}")


# ---------------------------------------------------------------------------- console
class _Console:
    """Where messages go: nowhere with ``--quiet``; bars unless ``--no-progress``."""

    def __init__(self, quiet=False, progress=True, stream=None):
        self.quiet = quiet
        self.progress = progress and not quiet
        self.stream = stream

    def print(self, *objects):
        if not self.quiet:
            print(*objects, file=self.stream or sys.stdout, flush=True)

    def bar(self, total, desc):
        if not self.progress:
            return None
        from tqdm.auto import tqdm  # deferred: startup time (`numtorch --help` imports every job)

        # disable=None: no bar when stderr is not a terminal (logs stay clean).
        return tqdm(total=total, desc=desc, unit="img", leave=True, dynamic_ncols=True,
                    file=sys.stderr, disable=None)


def _format_count(n):
    return f"{n:,}"


def _format_seconds(seconds):
    minutes, seconds = divmod(seconds, 60)
    return f"{int(minutes)}m {seconds:04.1f}s" if minutes else f"{seconds:.1f}s"


def _print_model(console, net, model_name):
    """Print the model and its ``numtorch.summary`` table; return its number of parameters."""
    console.print(net)
    if not console.quiet:
        size = MODELS[model_name].input_size
        # A zero input, not a random one: printing must not change what the seed gives.
        console.print(numtorch.summary(net, input_data=numtorch.zeros(1, 1, size, size),
                                       verbose=0))
    return sum(p.numel() for p in net.parameters())


# ---------------------------------------------------------------------------- training
class Diverged(CommandError):
    """Training produced a NaN or infinite loss or weights."""


def train_one_epoch(net, loader, optimizer, scheduler, per_batch, bar, stop_on_nan=True):
    """One pass over ``loader``; returns ``(mean loss, accuracy)`` over its samples.

    With ``stop_on_nan``, a NaN or infinite loss raises :class:`Diverged` before the step that
    would spread it into the weights.
    """
    net.train()
    total_loss, correct, seen = 0.0, 0, 0
    for step, (images, labels) in enumerate(loader):
        optimizer.zero_grad()
        logits = net(images)
        loss = F.cross_entropy(logits, labels)
        value = loss.item()
        if stop_on_nan and not math.isfinite(value):
            raise Diverged(f"the loss became {value} at batch {step + 1}")
        loss.backward()
        optimizer.step()
        if per_batch:
            scheduler.step()
        n = labels.shape[0]
        total_loss += value * n
        correct += int((logits.argmax(1) == labels).sum())
        seen += n
        if bar is not None:
            bar.update(n)
            if step % 10 == 0 or seen == len(loader.dataset):
                bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
    return total_loss / seen, correct / seen


@numtorch.no_grad()
def evaluate(net, dataset, batch_size=1000):
    """``(mean loss, accuracy, probabilities N×10 ndarray)`` of ``net`` on ``dataset``."""
    net.eval()
    total_loss, probs = 0.0, []
    loader = DataLoader(dataset, batch_size=batch_size)
    for images, labels in loader:
        logits = net(images)
        total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
        probs.append(F.softmax(logits, dim=1).numpy())
    probs = np.concatenate(probs)
    targets = dataset.tensors[1].numpy()
    accuracy = float((probs.argmax(1) == targets).mean())
    return total_loss / len(dataset), accuracy, probs


def confusion_matrix(targets, predictions, num_classes=10):
    """Counts ``C[true, predicted]`` as an int64 ndarray."""
    index = np.asarray(targets, dtype=np.int64) * num_classes + np.asarray(predictions)
    return np.bincount(index, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def format_confusion(matrix):
    """The confusion matrix as a text table (rows: true digit, columns: predicted digit)."""
    width = max(4, len(str(matrix.max())) + 1)
    lines = ["confusion matrix (rows: true digit, columns: predicted digit)",
             " " * 6 + "".join(f"{c:>{width}}" for c in range(matrix.shape[1]))]
    for r, row in enumerate(matrix):
        lines.append(f"{r:>6}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- results on disk
def _plain_args(args):
    """The options as a JSON- and checkpoint-friendly dict."""
    return {k: v for k, v in vars(args).items() if not callable(v) and k != "command"}


def write_metrics(output_dir, history):
    """``metrics.json`` and ``metrics.csv``: one record per epoch."""
    with open(os.path.join(output_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump({"epochs": history}, f, indent=2)
    with open(os.path.join(output_dir, "metrics.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


def write_confusion_csv(path, matrix):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["true\\predicted"] + list(range(matrix.shape[1])))
        for r, row in enumerate(matrix):
            writer.writerow([r] + row.tolist())


def write_predictions_csv(path, targets, probs):
    """One row per test digit: its index, true label, predicted label and probability."""
    predictions = probs.argmax(1)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["index", "label", "predicted", "probability"])
        for i, (t, p) in enumerate(zip(targets, predictions)):
            writer.writerow([i, int(t), int(p), f"{probs[i, p]:.6f}"])


def export_onnx(net, folder, example):
    """Write ``model.onnx`` (batch axis dynamic) into ``folder``; returns its path."""
    # deferred: startup time (only --onnx exports; `numtorch --help` imports every job)
    import numtorch.onnx
    path = os.path.join(folder, "model.onnx")
    try:
        numtorch.onnx.export(net, (example,), path, input_names=["input"],
                             output_names=["logits"],
                             dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    except ImportError as e:
        raise CommandError(str(e)) from None
    return path


def write_graph(path, net, dataset):
    """``graph.svg``: the autograd graph of the loss on two samples, if Graphviz can draw it."""
    images, labels = dataset.tensors[0][:2], dataset.tensors[1][:2]
    net.train()
    with numtorch.enable_grad():
        loss = F.cross_entropy(net(images), labels)
    try:
        svg = make_dot(loss, params=dict(net.named_parameters())).pipe(format="svg")
    except (RuntimeError, OSError):  # no Graphviz: the picture is optional
        return None
    with open(path, "wb") as f:
        f.write(svg)
    return path


# ---------------------------------------------------------------------------- the job
def _check_args(args):
    for name in ("epochs", "batch_size", "limit", "test_limit"):  # the last two may be None
        value = getattr(args, name)
        if value is not None and value < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        raise CommandError(f"--lr must be a positive finite number, not {args.lr:g}")
    if getattr(args, "export_onnx", False) and importlib.util.find_spec("onnx") is None:
        raise CommandError("--export-onnx needs the onnx package: pip install 'numtorch[onnx]'")


def check_output_dir(path):
    """Fail early, before any training, if results could not be written to ``path``.

    Nothing is created: an existing directory must take a file; otherwise the nearest existing
    parent must be a writable directory.
    """
    if os.path.isdir(path):
        probe = os.path.join(path, f".numtorch-write-test-{os.getpid()}")
        try:
            with open(probe, "wb"):
                pass
            os.unlink(probe)
        except OSError as e:
            raise CommandError(f"can't write to --output-dir {path}: "
                               f"{e.strerror or e}") from None
        return
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent == os.path.abspath(path) or not os.path.isdir(parent):
        raise CommandError(f"--output-dir {path}: {parent} exists and is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CommandError(f"can't create --output-dir {path}: {parent} is not writable")


def make_output_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise CommandError(f"can't create --output-dir {path}: {e.strerror or e}") from None


def _finite(net):
    return all(bool(np.isfinite(p.detach().numpy()).all()) for p in net.parameters())


class _Run:
    """One training run: its data, model, optimizer and schedule, and the epochs done so far."""

    def __init__(self, args, console):
        self.args, self.console = args, console
        self.lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
        numtorch.manual_seed(args.seed)
        self._load_data()
        self.net = build_model(args.model)
        self.num_params = _print_model(console, self.net, args.model)
        self.loader_generator = numtorch.Generator().manual_seed(args.seed)
        self.loader = DataLoader(self.train_set, batch_size=args.batch_size, shuffle=True,
                                 generator=self.loader_generator)
        self.optimizer = build_optimizer(args.optimizer, self.net.parameters(), self.lr)
        self.scheduler, self.per_batch = build_scheduler(
            args.scheduler, self.optimizer, self.lr, args.epochs, len(self.loader))
        console.print(f"optimizer: {args.optimizer}, lr {self.lr:g}, schedule {args.scheduler}, "
                      f"batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}")
        self.ckpt_path = os.path.join(args.output_dir, "checkpoint.pt")
        self.history = []

    def _load_data(self):
        args, console = self.args, self.console
        transform = mnist_transform(args.model)
        try:
            train_raw, test_raw, source = load_datasets(args, transform)
            self.train_set = materialize(train_raw, args.limit)
            self.test_set = materialize(test_raw, args.test_limit)
        except RuntimeError as e:  # unreadable files, no network for --download
            raise CommandError(str(e)) from None
        n = _format_count
        console.print(f"data: {source}")
        console.print(f"      train {n(len(self.train_set))} of {n(len(train_raw))}, test "
                      f"{n(len(self.test_set))} of {n(len(test_raw))} digits, "
                      f"{tuple(self.train_set.tensors[0].shape[1:])} each")
        console.print("      " + repr(transform).replace("\n", "\n      "))

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self):
        """Write everything needed to use or continue the model with :func:`numtorch.load`."""
        checkpoint = {
            "model": self.net.state_dict(),
            "model_name": self.args.model,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.history[-1]["epoch"],
            "args": _plain_args(self.args),
            "history": self.history,
            "normalize": {"mean": MNIST_MEAN, "std": MNIST_STD},
            "rng_state": numtorch.get_rng_state(),
            "loader_rng_state": self.loader_generator.get_state(),
        }
        tmp = self.ckpt_path + ".tmp"
        numtorch.save(checkpoint, tmp)
        os.replace(tmp, self.ckpt_path)  # never leave half a checkpoint behind on Ctrl-C

    def resume(self, path):
        """Continue from a checkpoint of this command: weights, optimizer, schedule, RNGs."""
        args, console = self.args, self.console
        if not os.path.isfile(path):
            raise CommandError(f"checkpoint not found: {path}")
        ckpt = load_checkpoint(path)
        name = ckpt.get("model_name") if isinstance(ckpt, dict) else None
        if name not in MODELS or not isinstance(ckpt.get("model"), dict):
            raise CommandError(f"{path} is not a checkpoint of `numtorch mnist` (it holds no "
                               f"{' or '.join(MODELS)} weights)")
        if name != args.model:
            raise CommandError(f"{path} holds a {name!r} model, not {args.model!r} "
                               f"(pass --model {name})")
        try:
            self.net.load_state_dict(ckpt["model"])
            saved = ckpt.get("args", {})
            if saved.get("optimizer") == args.optimizer:
                self.optimizer.load_state_dict(ckpt["optimizer"])
            # A schedule continues only if it would have been the same one: built for the same
            # number of epochs and batches.
            same_schedule = saved.get("scheduler") == args.scheduler and all(
                saved.get(k) == getattr(args, k) for k in ("epochs", "batch_size", "limit"))
            if self.scheduler is not None and same_schedule and \
                    ckpt.get("scheduler") is not None:
                self.scheduler.load_state_dict(ckpt["scheduler"])
            elif self.scheduler is not None:
                console.print("note: options differ from the checkpoint's; the LR schedule "
                              "restarts")
            numtorch.set_rng_state(ckpt["rng_state"])
            self.loader_generator.set_state(ckpt["loader_rng_state"])
            self.history = list(ckpt.get("history", []))
            epoch = ckpt["epoch"]
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as e:
            raise CommandError(f"{path} is damaged or not a checkpoint of `numtorch mnist`: "
                               f"{_first_line(e)}") from None
        console.print(f"resumed from {path} after epoch {epoch}")

    # ------------------------------------------------------------------ epochs
    def run_epoch(self, epoch):
        """Train one epoch, test, print, checkpoint; returns the test probabilities."""
        args, console = self.args, self.console
        t0 = time.perf_counter()
        lr_now = self.optimizer.param_groups[0]["lr"]
        bar = console.bar(len(self.train_set), f"epoch {epoch}/{args.epochs}")
        stop_on_nan = not getattr(args, "allow_nan", False)
        try:
            train_loss, train_acc = train_one_epoch(self.net, self.loader, self.optimizer,
                                                    self.scheduler, self.per_batch, bar,
                                                    stop_on_nan)
            if stop_on_nan and not _finite(self.net):
                raise Diverged("the weights became NaN or infinite")
        except Diverged as e:
            raise Diverged(f"training diverged in epoch {epoch}: {e}; {self._kept()} "
                           "(try a lower --lr, or pass --allow-nan to save anyway)") from None
        finally:
            if bar is not None:
                bar.close()
        if self.scheduler is not None and not self.per_batch:
            self.scheduler.step()
        test_loss, test_acc, probs = evaluate(self.net, self.test_set)
        seconds = time.perf_counter() - t0
        self.history.append({"epoch": epoch, "lr": lr_now, "train_loss": train_loss,
                             "train_acc": train_acc, "test_loss": test_loss,
                             "test_acc": test_acc, "seconds": round(seconds, 3)})
        console.print(f"epoch {epoch:>{len(str(args.epochs))}}/{args.epochs}  "
                      f"train loss {train_loss:.4f}  acc {100 * train_acc:6.2f}%  |  "
                      f"test loss {test_loss:.4f}  acc {100 * test_acc:6.2f}%  "
                      f"({seconds:.1f}s)")
        self.save_checkpoint()
        return probs

    def _kept(self):
        if self.history:
            return f"{self.ckpt_path} keeps epoch {self.history[-1]['epoch']}"
        if os.path.exists(self.ckpt_path):
            return f"{self.ckpt_path} was left as it was"
        return "no checkpoint was written"

    def run(self):
        """The remaining epochs; returns the final test probabilities."""
        probs = None
        first = self.history[-1]["epoch"] + 1 if self.history else 1
        try:
            for epoch in range(first, self.args.epochs + 1):
                probs = self.run_epoch(epoch)
        except KeyboardInterrupt:
            if self.history:
                self.console.print(
                    f"\ninterrupted: {self.ckpt_path} holds epoch {self.history[-1]['epoch']}; "
                    f"continue with --resume {self.ckpt_path}")
            raise
        if probs is None:  # resumed a finished run: test what was loaded
            probs = evaluate(self.net, self.test_set)[2]
        return probs

    # ------------------------------------------------------------------ results
    def write_results(self, probs):
        """Metrics, confusion matrix, predictions and pictures; returns ``{name: path}``."""
        args, console, out = self.args, self.console, self.args.output_dir
        files = {"checkpoint": self.ckpt_path}
        targets = self.test_set.tensors[1].numpy()
        predictions = probs.argmax(1)
        matrix = confusion_matrix(targets, predictions)
        console.print(format_confusion(matrix))
        if self.history:
            write_metrics(out, self.history)
            files["metrics.json"] = os.path.join(out, "metrics.json")
            files["metrics.csv"] = os.path.join(out, "metrics.csv")
        files["confusion.csv"] = os.path.join(out, "confusion.csv")
        write_confusion_csv(files["confusion.csv"], matrix)
        files["predictions.csv"] = os.path.join(out, "predictions.csv")
        write_predictions_csv(files["predictions.csv"], targets, probs)
        if getattr(args, "export_onnx", False):
            files["model.onnx"] = export_onnx(self.net, os.path.dirname(self.ckpt_path),
                                              self.test_set.tensors[0][:2])
        if not args.no_plots:
            files.update(self._pictures(targets, predictions, probs, matrix))
        console.print("wrote " + ", ".join(os.path.basename(p) for p in files.values()))
        return files

    def _pictures(self, targets, predictions, probs, matrix):
        out, files = self.args.output_dir, {}
        if plots.available():
            images = _unnormalize(self.test_set.tensors[0].numpy())
            if self.history:
                files["curves.png"] = plots.plot_curves(os.path.join(out, "curves.png"),
                                                        self.history)
            files["predictions.png"] = plots.plot_predictions(
                os.path.join(out, "predictions.png"), images, targets, predictions, probs)
            files["confusion.png"] = plots.plot_confusion(os.path.join(out, "confusion.png"),
                                                          matrix)
        else:
            self.console.print(plots.MISSING_MESSAGE)
        if self.args.model == "lenet":
            graph = write_graph(os.path.join(out, "graph.svg"), self.net, self.test_set)
            if graph is not None:
                files["graph.svg"] = graph
        return files


def train(args, stream=None):
    """Train as ``args`` say and write the results.

    Returns a dict with ``history`` (one record per epoch), ``test_acc``, ``files`` (name →
    path), ``seconds``, ``num_params`` and ``probabilities`` (the final test softmax, N×10).
    """
    _check_args(args)
    check_output_dir(args.output_dir)
    started = time.perf_counter()
    console = _Console(args.quiet, not args.no_progress, stream)
    run = _Run(args, console)
    make_output_dir(args.output_dir)
    if args.resume:
        run.resume(args.resume)
    probs = run.run()
    elapsed = time.perf_counter() - started
    files = run.write_results(probs)
    targets = run.test_set.tensors[1].numpy()
    correct = int((probs.argmax(1) == targets).sum())
    epochs = f"{len(run.history)} epoch" + ("s" if len(run.history) != 1 else "")
    line = (f"final test accuracy {100 * correct / len(targets):.2f}% ({correct}/{len(targets)}) "
            f"after {epochs} in {_format_seconds(elapsed)}; results in {args.output_dir}")
    print(line, file=stream or sys.stdout, flush=True)
    return {"history": run.history, "test_acc": correct / len(targets), "files": files,
            "seconds": elapsed, "num_params": run.num_params, "probabilities": probs}


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def load_checkpoint(path):
    """``numtorch.load(path)`` with the errors a user can meet turned into one clear line."""
    try:
        return numtorch.load(path)
    except pickle.UnpicklingError:
        raise CommandError(
            f"{path} is not a checkpoint of `numtorch mnist`: it holds pickled Python objects "
            "(a whole model?), which are not loaded because that could run code; if you trust "
            "it, load it with numtorch.load(path, weights_only=False) and save its "
            "state_dict() instead") from None
    except (RuntimeError, OSError, EOFError) as e:
        raise CommandError(f"can't read {path}: {_first_line(e)}") from None


def _unnormalize(images):
    """Normalized ``N×1×H×W`` inputs back to ``[0, 1]`` pixels ``N×H×W``."""
    return np.clip(images[:, 0] * MNIST_STD + MNIST_MEAN, 0.0, 1.0)


def parse_args(argv=None):
    """Parse ``numtorch mnist`` options (for calling the job from Python)."""
    parser = argparse.ArgumentParser(prog="numtorch mnist", description=HELP)
    add_arguments(parser)
    return parser.parse_args(argv)
