"""``numtorch predict CHECKPOINT IMAGE...``: read handwritten digits with a trained model.

``CHECKPOINT`` is a ``checkpoint.pt`` of ``numtorch mnist`` or the ``model.onnx`` that
``numtorch mnist --export-onnx`` writes (run by ONNX Runtime, ``pip install numtorch[onnx]``).

An image of any size is turned into an MNIST-style digit the way MNIST itself was made: gray
levels, white ink on black (light backgrounds are inverted), the digit cropped, scaled to fit a
20×20 box and placed in a 28×28 image with its centre of mass in the middle. Then the training
transform runs (to ``[0, 1]``, padding for LeNet, normalization) and the model's softmax gives
the probabilities. Images are read with Pillow (``pip install numtorch[plot]``); ``.npy`` arrays
need nothing extra.
"""

import os
import warnings

import numpy as np

import numtorch
import numtorch.nn.functional as F

from . import CommandError
from .mnist import _first_line, load_checkpoint, mnist_transform
from .models import MODELS, build_model

# Larger pictures are refused before they are decoded (a digit needs a few thousand pixels; a
# 74-byte PNG can claim 30000×30000).
MAX_PIXELS = 50_000_000
HELP = "classify digit images (PNG, JPEG, … or .npy) with a checkpoint of `numtorch mnist`"
PILLOW_MESSAGE = ("reading {path} needs Pillow, which is not installed: "
                  "pip install numtorch[plot]  (or pass the image as a .npy array)")


def add_arguments(parser):
    """The options of ``numtorch predict``."""
    parser.add_argument("checkpoint", help="a checkpoint.pt written by `numtorch mnist` (or its "
                        "model.onnx, with onnxruntime installed)")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="digit images to classify")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only 'IMAGE: LABEL' lines")


def main(args):
    """Run ``numtorch predict`` for parsed ``args``; return the exit status."""
    net, model_name = load_model(args.checkpoint)
    for path in args.images:
        label, probs = predict_file(net, model_name, path)
        print(format_prediction(path, label, probs, args.quiet), flush=True)
    return 0


# ---------------------------------------------------------------------------- the model
def _infer_model_name(state_dict):
    if "conv1.weight" in state_dict:
        return "lenet"
    if "fc1.weight" in state_dict and tuple(state_dict["fc1.weight"].shape) == (128, 784):
        return "mlp"
    raise CommandError("the checkpoint's weights fit neither LeNet-5 nor the MLP")


def load_model(path):
    """``(model in eval mode, model name)`` from a checkpoint of ``numtorch mnist``.

    A bare ``state_dict`` saved with ``numtorch.save(net.state_dict(), path)`` works too.
    """

    if not os.path.isfile(path):
        raise CommandError(f"checkpoint not found: {path}")
    if path.lower().endswith(".onnx"):
        return load_onnx(path)
    ckpt = load_checkpoint(path)
    if isinstance(ckpt, dict) and "model" in ckpt:
        state_dict = ckpt["model"]
        name = ckpt.get("model_name") or _infer_model_name(state_dict)
    else:
        state_dict, name = ckpt, _infer_model_name(ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state_dict, dict) or name is None:
        raise CommandError(f"{path} is not a checkpoint of `numtorch mnist` (no model weights)")
    if name not in MODELS:
        raise CommandError(f"{path}: unknown model {name!r}")
    try:
        net = build_model(name, num_classes=state_dict["fc3.weight"].shape[0])
        net.load_state_dict(state_dict)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as e:
        raise CommandError(f"{path}: the weights don't fit the {name} model: "
                           f"{_first_line(e)}") from None
    net.eval()
    return net, name


class OnnxModel:
    """A model exported to ONNX (``numtorch mnist --export-onnx``), run by ONNX Runtime and
    called like the network it was exported from."""

    def __init__(self, session):
        self.session = session
        self.input_name = session.get_inputs()[0].name

    def __call__(self, x):
        logits = self.session.run(None, {self.input_name: x.numpy()})[0]
        return numtorch.from_numpy(logits)


def load_onnx(path):
    """``(OnnxModel, model name)`` for an ONNX file; the name comes from the input size."""
    try:
        import onnxruntime  # deferred: optional dependency (onnxruntime)
    except ImportError:
        raise CommandError(f"running {path} needs onnxruntime, which is not installed: "
                           "pip install 'numtorch[onnx]'") from None
    try:
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise CommandError(f"{path}: not an ONNX model ONNX Runtime can run ({e})") from None
    size = session.get_inputs()[0].shape[-1]
    names = [name for name, cls in MODELS.items() if cls.input_size == size]
    if len(names) != 1:
        raise CommandError(f"{path}: expected a digit model with 28x28 or 32x32 inputs, got "
                           f"input shape {session.get_inputs()[0].shape}")
    return OnnxModel(session), names[0]


# ---------------------------------------------------------------------------- the image
def _read_npy(path):
    """A ``.npy`` image, refusing object arrays and arrays larger than the file or
    :data:`MAX_PIXELS` before anything is allocated."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            data_bytes = os.fstat(f.fileno()).st_size - f.tell()
    except (ValueError, OSError, EOFError, SyntaxError) as e:
        raise CommandError(f"{path}: not a NumPy .npy file ({e})") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise CommandError(f"{path}: holds {dtype} values, not numbers (an image must be a "
                           "2-D array of numbers)")
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize > data_bytes:
        raise CommandError(f"{path}: claims shape {shape} but the file holds only "
                           f"{data_bytes} bytes of data (truncated or damaged)")
    if count > MAX_PIXELS:
        raise CommandError(f"{path}: {count} values is too large for a digit image "
                           f"(at most {MAX_PIXELS})")
    try:
        return np.load(path, allow_pickle=False).astype(np.float32)
    except (ValueError, OSError, EOFError) as e:
        raise CommandError(f"{path}: can't read the array ({e})") from None


def read_image(path):
    """A 2-D float32 array of ink-or-paper gray levels in ``[0, 255]``.

    An alpha channel that varies is the ink itself (strokes on a transparent canvas).
    """
    if not os.path.isfile(path):
        raise CommandError(f"image not found: {path}")
    if path.lower().endswith(".npy"):
        arr = _read_npy(path)
        if arr.ndim == 3:
            arr = arr.mean(axis=-1 if arr.shape[-1] in (1, 3, 4) else 0)
        if arr.ndim != 2:
            raise CommandError(f"{path}: expected a 2-D image array, got shape {arr.shape}")
        if arr.size == 0:
            raise CommandError(f"{path}: the image is empty (shape {arr.shape})")
        if not np.isfinite(arr).all():
            raise CommandError(f"{path}: the image holds NaN or infinite values")
        return arr * 255 if arr.max() <= 1.0 else arr
    try:
        from PIL import Image, UnidentifiedImageError  # deferred: optional dependency (Pillow)
    except ImportError:
        raise CommandError(PILLOW_MESSAGE.format(path=path)) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise CommandError(f"{path}: {img.width}×{img.height} pixels is too large "
                                       f"for a digit image (at most {MAX_PIXELS} pixels)")
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise CommandError(f"{path}: refused as a decompression bomb ({e})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise CommandError(f"{path}: not an image Pillow can read ({e})") from None
    if img.width == 0 or img.height == 0:
        raise CommandError(f"{path}: the image is empty")
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        alpha = np.asarray(img.convert("RGBA"), dtype=np.float32)[..., 3]
        if alpha.max() - alpha.min() > 64:
            return alpha
    return np.asarray(img.convert("L"), dtype=np.float32)


def to_mnist(gray):
    """A ``28×28`` uint8 digit, white on black, centred as MNIST's digits are."""
    gray = np.asarray(gray, dtype=np.float32)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:  # dark ink on light paper: make the ink bright
        gray = 255.0 - gray
        border = 255.0 - border
    ink = np.clip(gray - np.median(border), 0.0, None)
    if ink.max() <= 0:
        return np.zeros((28, 28), dtype=np.uint8)
    ink *= 255.0 / ink.max()
    rows = np.flatnonzero((ink > 40).any(axis=1))
    cols = np.flatnonzero((ink > 40).any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    box = _fit(ink, 20)
    return _place_by_mass(box, 28)


def _fit(ink, size):
    """Scale ``ink`` so that its longer side is ``size`` pixels (keeping the aspect ratio)."""
    h, w = ink.shape
    scale = size / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    try:
        from PIL import Image  # deferred: optional dependency (Pillow)
    except ImportError:  # nearest neighbour with NumPy (only reached for .npy input)
        r = np.minimum((np.arange(new_h) / scale).astype(int), h - 1)
        c = np.minimum((np.arange(new_w) / scale).astype(int), w - 1)
        return ink[r[:, None], c[None, :]]
    img = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32))
    return np.asarray(img.resize((new_w, new_h), Image.Resampling.LANCZOS), dtype=np.float32)


def _place_by_mass(patch, size):
    """Paste ``patch`` into a ``size×size`` canvas with its centre of mass at the centre."""
    patch = np.clip(patch, 0.0, 255.0)
    h, w = patch.shape
    total = patch.sum()
    ys, xs = np.indices(patch.shape)
    cy = (ys * patch).sum() / total if total else (h - 1) / 2
    cx = (xs * patch).sum() / total if total else (w - 1) / 2
    top = int(np.clip(round((size - 1) / 2 - cy), 0, size - h))
    left = int(np.clip(round((size - 1) / 2 - cx), 0, size - w))
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top:top + h, left:left + w] = patch
    return np.rint(canvas).astype(np.uint8)


# ---------------------------------------------------------------------------- prediction
@numtorch.no_grad()
def predict_array(net, model_name, digit):
    """``(label, probabilities)`` for a ``28×28`` uint8 digit (white on black)."""

    x = mnist_transform(model_name)(digit)
    probs = F.softmax(net(x.unsqueeze(0)), dim=1)[0].numpy()
    return int(probs.argmax()), probs


def predict_file(net, model_name, path):
    """``(label, probabilities)`` for the image file at ``path``."""
    return predict_array(net, model_name, to_mnist(read_image(path)))


def format_prediction(path, label, probs, quiet=False):
    """``'path: 7 (99.6%)'`` and, unless ``quiet``, a line with every class's probability."""
    if quiet:
        return f"{path}: {label}"
    row = "  ".join(f"{k}: {p:.3f}" for k, p in enumerate(probs))
    return f"{path}: {label}  ({100 * probs[label]:.1f}%)\n    {row}"
