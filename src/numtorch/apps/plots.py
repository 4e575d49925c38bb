"""Pictures of a training run (matplotlib, an optional extra: ``pip install numtorch[plot]``).

Figures are drawn with matplotlib's object API (``Figure`` + the Agg canvas), never through
``pyplot``, so writing them neither needs a display nor changes the caller's backend.
"""

import importlib.util

import numpy as np

__all__ = ["MISSING_MESSAGE", "available", "plot_confusion", "plot_curves", "plot_predictions"]

# graph.svg needs Graphviz, not matplotlib: it may still be drawn, so name what is missing.
MISSING_MESSAGE = ("matplotlib is not installed, so curves.png, predictions.png and "
                   "confusion.png were not drawn; to get them run:  pip install numtorch[plot]")
_RED, _GREEN = "#d62728", "#2ca02c"


def available():
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def _figure(width, height):
    from matplotlib.figure import Figure  # deferred: optional dependency (matplotlib)

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def plot_curves(path, history):
    """Loss and accuracy per epoch, training and test, side by side; returns ``path``."""
    epochs = [h["epoch"] for h in history]
    fig = _figure(9, 3.4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    style = {"marker": "o", "markersize": 3}
    ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train", **style)
    ax_loss.plot(epochs, [h["test_loss"] for h in history], label="test", **style)
    ax_loss.set(title="cross-entropy loss", xlabel="epoch", yscale="log")
    ax_acc.plot(epochs, [100 * h["train_acc"] for h in history], label="train", **style)
    ax_acc.plot(epochs, [100 * h["test_acc"] for h in history], label="test", **style)
    last = history[-1]
    ax_acc.annotate(f"test {100 * last['test_acc']:.2f}%", (last["epoch"], 100 * last["test_acc"]),
                    textcoords="offset points", xytext=(-4, -14), ha="right", fontsize=8)
    ax_acc.set(title="accuracy (%)", xlabel="epoch")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.savefig(path)
    return path


def _choose(targets, predictions, n, max_wrong):
    """Indices to show: the first test digits, then up to ``max_wrong`` mistakes at the end."""
    wrong = np.flatnonzero(predictions != targets)[:max_wrong]
    first = np.setdiff1d(np.arange(len(targets)), wrong)[: n - len(wrong)]
    return np.concatenate([first, wrong]).astype(np.int64), len(wrong)


def plot_predictions(path, images, targets, predictions, probabilities, rows=6, cols=10):
    """A grid of test digits labelled with the predicted class and its probability.

    The first digits of the test set fill the grid except its last row, which shows the first
    mistakes (if any). A mistake is framed in red and its label names the true class. The grid
    is one picture (a montage), which draws much faster than one axes per digit.
    """
    chosen, n_wrong = _choose(targets, predictions, rows * cols, cols)
    h, w = images.shape[1:]
    band, gap = 12, 4  # pixels for the label above each digit, and between digits
    cell_h, cell_w = h + band + gap, w + gap
    montage = np.zeros((rows * cell_h, cols * cell_w))
    fig = _figure(cols * 0.75, rows * 0.98 + 0.3)
    ax = fig.add_subplot()
    for k, i in enumerate(chosen):
        r, c = divmod(k, cols)
        top, left = r * cell_h + band, c * cell_w + gap // 2
        montage[top:top + h, left:left + w] = images[i]
        ok = predictions[i] == targets[i]
        label = f"{predictions[i]} {100 * probabilities[i, predictions[i]]:.0f}%"
        ax.text(left + w / 2, top - 2, label if ok else f"{predictions[i]} (true {targets[i]})",
                ha="center", va="bottom", fontsize=6.5, color=_GREEN if ok else _RED,
                fontweight="normal" if ok else "bold")
        if not ok:
            ax.add_patch(_rectangle(left - 1.5, top - 1.5, w + 2, h + 2))
    ax.imshow(montage, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    n_mistakes = int((predictions != targets).sum())
    fig.suptitle(f"predicted digit and probability: {n_mistakes} mistakes in {len(targets)} "
                 "test digits" + ("; the last row shows mistakes" if n_wrong else ""),
                 fontsize=9)
    fig.savefig(path)
    return path


def _rectangle(x, y, w, h):
    from matplotlib.patches import Rectangle  # deferred: optional dependency (matplotlib)

    return Rectangle((x, y), w, h, fill=False, edgecolor=_RED, linewidth=1.5)


def plot_confusion(path, matrix):
    """The confusion matrix as a heat map with the counts written in; returns ``path``."""
    fig = _figure(5.2, 4.6)
    ax = fig.subplots()
    shown = np.log1p(matrix)
    im = ax.imshow(shown, cmap="Blues")
    k = matrix.shape[0]
    for r in range(k):
        for c in range(k):
            if matrix[r, c]:
                light = shown[r, c] > 0.6 * shown.max()
                ax.text(c, r, str(matrix[r, c]), ha="center", va="center", fontsize=7,
                        color="white" if light else ("black" if r == c else _RED))
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted digit", ylabel="true digit",
           title=f"confusion matrix ({np.trace(matrix)}/{matrix.sum()} correct)")
    fig.colorbar(im, ax=ax, shrink=0.8, label="log(1 + count)")
    fig.savefig(path)
    return path
