"""torch.utils.tensorboard.SummaryWriter: the event files are read back record by record
(TFRecord framing with CRCs, Event protobufs) and every value checked."""

import glob
import importlib
import io
import os
import re
import struct
import sys

import numpy as np
import pytest

import numtorch
import numtorch.nn as nn
import numtorch.nn.functional as F

pytest.importorskip("tensorboardX")
from numtorch.utils.tensorboard import SummaryWriter  # noqa: E402


def _masked_crc(data):
    from tensorboardX.crc32c import crc32c
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _events(log_dir):
    from tensorboardX.proto.event_pb2 import Event
    (path,) = glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))
    assert re.fullmatch(r"events\.out\.tfevents\.\d{10}\..+\.\d+\.\d+",
                        os.path.basename(path))
    with open(path, "rb") as f:
        raw = f.read()
    events, pos = [], 0
    while pos < len(raw):
        header = raw[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", raw[pos + 8:pos + 12])[0] == _masked_crc(header)
        body = raw[pos + 12:pos + 12 + length]
        assert struct.unpack("<I", raw[pos + 12 + length:pos + 16 + length])[0] == \
            _masked_crc(body)
        events.append(Event.FromString(body))
        pos += 16 + length
    assert events[0].file_version == "brain.Event:2"
    return events[1:]


def _values(events):
    return [(e.step, v) for e in events if e.HasField("summary") for v in e.summary.value]


def _scalar(v):
    return v.simple_value if v.HasField("simple_value") else v.tensor.float_val[0]


def test_scalars_round_trip(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        for step in range(3):
            w.add_scalar("loss", numtorch.tensor(1.5 / (step + 1)), step)
        w.add_scalar("lr", 0.25, global_step=7)
    got = [(s, v.tag, _scalar(v)) for s, v in _values(_events(tmp_path))]
    assert got == [(0, "loss", 1.5), (1, "loss", 0.75), (2, "loss", 0.5), (7, "lr", 0.25)]


def test_scalar_rejects_a_tensor_with_many_values(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        with pytest.raises(ValueError, match="scalar should be 0D"):
            w.add_scalar("x", numtorch.ones(3))
        w.add_scalar("x", 1.0, 0)  # still usable
    assert len(_values(_events(tmp_path))) == 1


def test_add_scalars_writes_one_run_per_tag(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalars("run", {"a": 1.0, "b": numtorch.tensor(2.0)}, 4)
    for tag, value in (("a", 1.0), ("b", 2.0)):
        (step, v), = _values(_events(tmp_path / f"run_{tag}"))
        assert (step, v.tag, _scalar(v)) == (4, "run", value)


def _png_pixels(v):
    from PIL import Image
    img = v.image
    pixels = np.asarray(Image.open(io.BytesIO(img.encoded_image_string)))
    assert pixels.shape[:2] == (img.height, img.width)
    return pixels


def test_add_image_chw_float_and_hwc_uint8(tmp_path):
    rng = np.random.default_rng(0)
    chw = rng.uniform(0, 1, (3, 4, 5)).astype(np.float32)
    hwc = rng.integers(0, 256, (4, 5, 3)).astype(np.uint8)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_image("float", numtorch.tensor(chw), 0)
        w.add_image("uint8", numtorch.tensor(hwc), 1, dataformats="HWC")
    (_, a), (_, b) = _values(_events(tmp_path))
    np.testing.assert_allclose(_png_pixels(a), chw.transpose(1, 2, 0) * 255, atol=1)
    np.testing.assert_array_equal(_png_pixels(b), hwc)


def test_add_images_tiles_the_batch(tmp_path):
    batch = np.zeros((4, 1, 2, 3), np.float32)
    batch[2] = 1.0
    with SummaryWriter(str(tmp_path)) as w:
        w.add_images("grid", numtorch.tensor(batch), 0)
    (_, v), = _values(_events(tmp_path))
    pixels = _png_pixels(v)
    assert pixels.shape[-1] == 3 and pixels.max() == 255 and pixels.min() == 0
    assert (pixels == 255).sum() == 2 * 3 * 3  # one bright tile of 2x3 pixels, three channels


def test_add_histogram_statistics(tmp_path):
    values = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_histogram("w", numtorch.tensor(values), 3)
        w.add_histogram("auto", numtorch.tensor(values), 4, bins="auto")
    (s1, h1), (s2, h2) = _values(_events(tmp_path))
    for h in (h1.histo, h2.histo):
        assert h.num == 1000 and sum(h.bucket) == 1000
        assert h.min == pytest.approx(values.min()) and h.max == pytest.approx(values.max())
        assert h.sum == pytest.approx(values.sum(dtype=np.float64), rel=1e-4, abs=1e-3)
        assert h.sum_squares == pytest.approx((values.astype(np.float64) ** 2).sum(), rel=1e-5)
    assert (s1, s2) == (3, 4)


def test_add_text(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_text("notes", "hello *world*", 2)
    (step, v), = _values(_events(tmp_path))
    assert step == 2 and v.tag == "notes/text_summary"
    assert v.tensor.string_val[0] == b"hello *world*"
    assert v.metadata.plugin_data.plugin_name == "text"


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 10)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(10, 3))

    def forward(self, x):
        x = F.relu(self.conv1(x))
        return self.head(self.fc(x.flatten(1)))


def test_add_graph_records_layers_in_order(tmp_path):
    from tensorboardX.proto.graph_pb2 import GraphDef
    with SummaryWriter(str(tmp_path)) as w:
        w.add_graph(_Net(), numtorch.randn(2, 1, 8, 8))
    (event,) = [e for e in _events(tmp_path) if e.graph_def]
    nodes = {n.name: (n.op, list(n.input)) for n in GraphDef.FromString(event.graph_def).node}
    assert nodes["_Net/conv1"] == ("Conv2d", ["input/input.1"])
    assert nodes["_Net/relu_1"] == ("ReluBackward0", ["_Net/conv1"])
    assert nodes["_Net/fc"][0] == "Linear" and nodes["_Net/fc"][1][0].startswith("_Net/")
    assert nodes["_Net/head.0"] == ("ReLU", ["_Net/fc"])
    assert nodes["output/output.1"] == ("IO Node", ["_Net/head.1"])
    with SummaryWriter(str(tmp_path / "g")) as w, pytest.raises(ValueError, match="input_to"):
        w.add_graph(_Net())


def test_default_log_dir_and_flush(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_exp")
    w.add_scalar("a", 1.0, 0)
    w.flush()
    assert len(_values(_events(w.get_logdir()))) == 1
    w.close()


def test_dropped_writer_still_writes_and_closed_writer_reopens(tmp_path):
    w = SummaryWriter(str(tmp_path))
    w.add_scalar("a", 2.0, 1)
    del w
    assert [_scalar(v) for _, v in _values(_events(tmp_path))] == [2.0]
    w = SummaryWriter(str(tmp_path / "again"))
    w.close()
    w.add_scalar("b", 3.0, 2)  # a closed writer opens a new event file, as torch's does
    w.close()
    files = glob.glob(str(tmp_path / "again" / "events.out.tfevents.*"))
    assert len(files) == 2  # never one file overwriting the other


def test_missing_tensorboardx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    for name in [m for m in sys.modules if m.startswith("numtorch.utils.tensorboard")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r"numtorch\[tensorboard\]"):
        importlib.import_module("numtorch.utils.tensorboard")
