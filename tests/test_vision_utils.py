"""torchvision.utils counterparts (make_grid, save_image) and torchvision.io.read_image against
torchvision."""

import numpy as np
import pytest
from vision_oracle import import_torchvision

import numtorch
from numtorch.vision import io, utils

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def tv():
    return import_torchvision()


CASES = [
    ((5, 3, 4, 6), {}),
    ((5, 3, 4, 6), {"nrow": 2, "padding": 1, "pad_value": 0.5}),
    ((7, 1, 5, 5), {"nrow": 3, "padding": 0}),
    ((3, 3, 4, 4), {"normalize": True}),
    ((3, 3, 4, 4), {"normalize": True, "scale_each": True}),
    ((3, 3, 4, 4), {"normalize": True, "value_range": (-1, 1)}),
    ((4, 3, 4, 4), {"normalize": True, "value_range": (-0.5, 0.2), "scale_each": True,
                    "nrow": 10}),
    ((1, 3, 4, 4), {}),
    ((2, 4, 3, 3), {"padding": 3}),
    ((3, 5, 6), {}),
    ((1, 5, 6), {"normalize": True}),
    ((5, 6), {}),
]


@pytest.mark.parametrize("shape, kwargs", CASES)
def test_make_grid_matches_torchvision(tv, shape, kwargs):
    import torch

    x = (RNG.standard_normal(shape) * 2).astype(np.float32)
    want = tv.utils.make_grid(torch.from_numpy(x.copy()), **kwargs)
    nx = numtorch.tensor(x)
    got = utils.make_grid(nx, **kwargs)
    assert got.dtype == numtorch.float32 and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(nx.numpy(), x)  # normalize works on a copy


def test_make_grid_of_a_list_and_errors(tv):
    import torch

    xs = [RNG.random((3, 4, 5), dtype=np.float32) for _ in range(3)]
    want = tv.utils.make_grid([torch.from_numpy(a) for a in xs], nrow=2)
    got = utils.make_grid([numtorch.tensor(a) for a in xs], nrow=2)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    for bad in ([numtorch.zeros(3, 2, 2), 5], np.zeros((3, 2, 2))):
        with pytest.raises(TypeError) as want_error:
            tv.utils.make_grid(bad if isinstance(bad, np.ndarray) else [torch.zeros(3, 2, 2), 5])
        with pytest.raises(TypeError) as got_error:
            utils.make_grid(bad)
        assert str(got_error.value).split(" got")[0] == str(want_error.value).split(" got")[0]
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        utils.make_grid(numtorch.zeros(2, 3, 2, 2), normalize=True, value_range=[0, 1])


@pytest.mark.parametrize("shape, kwargs", [((5, 3, 4, 6), {"nrow": 2}),
                                           ((2, 1, 5, 5), {"normalize": True}),
                                           ((3, 8, 9), {})])
@pytest.mark.parametrize("suffix", [".png", ".bmp"])
def test_save_image_writes_the_pixels_torchvision_writes(tv, tmp_path, shape, kwargs, suffix):
    import torch
    from PIL import Image

    x = (RNG.random(shape, dtype=np.float32) * 1.2 - 0.1)  # some values outside [0, 1]
    tv.utils.save_image(torch.from_numpy(x.copy()), tmp_path / f"want{suffix}", **kwargs)
    utils.save_image(numtorch.tensor(x), tmp_path / f"got{suffix}", **kwargs)
    with Image.open(tmp_path / f"want{suffix}") as want, \
            Image.open(tmp_path / f"got{suffix}") as got:
        assert got.mode == want.mode and got.size == want.size
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_save_image_to_a_file_object_needs_a_format(tmp_path):
    import io as pyio

    buf = pyio.BytesIO()
    utils.save_image(numtorch.rand(3, 4, 4), buf, format="PNG")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_image_without_pillow_says_so(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match="save_image needs Pillow"):
        utils.save_image(numtorch.rand(3, 4, 4), tmp_path / "x.png")


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_read_image_gives_the_png_pixels_as_uint8_chw(tmp_path, mode):
    from PIL import Image

    channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    pixels = RNG.integers(0, 256, (6, 7, channels), dtype=np.uint8)
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode).save(tmp_path / "a.png")
    got = io.read_image(str(tmp_path / "a.png"))
    assert got.dtype == numtorch.uint8
    np.testing.assert_array_equal(got.numpy(), pixels.transpose(2, 0, 1))
    assert tuple(io.read_image(tmp_path / "a.png", io.ImageReadMode.RGB).shape) == (3, 6, 7)
    gray = io.read_image(tmp_path / "a.png", io.ImageReadMode.GRAY)
    assert tuple(gray.shape) == (1, 6, 7)
    if mode == "RGB":  # ITU-R 601-2 luma, rounded
        luma = pixels.astype(np.float64) @ [0.299, 0.587, 0.114]
        np.testing.assert_allclose(gray.numpy()[0], luma, atol=1)


@pytest.mark.parametrize("kwargs", [
    {}, {"colors": "red", "width": 2}, {"colors": [(10, 200, 30), "#00ff00", "blue"],
                                        "fill": True},
    {"labels": ["cat", "dog", "a bird"]},
    {"labels": ["cat", "dog", "x"], "fill_labels": True, "label_colors": "white"},
])
@pytest.mark.parametrize("kind", ["u8", "f32", "grey"])
def test_draw_bounding_boxes_matches_torchvision(tv, kwargs, kind):
    import torch

    pixels = RNG.integers(0, 256, (3, 40, 50), dtype=np.uint8)
    if kind == "f32":
        pixels = pixels.astype(np.float32) / 255
    elif kind == "grey":
        pixels = pixels[:1]
    boxes = np.array([[2, 3, 20, 30], [10, 5, 45, 38], [0, 0, 49, 39]], dtype=np.float32)
    want = tv.utils.draw_bounding_boxes(torch.from_numpy(pixels), torch.from_numpy(boxes),
                                        **kwargs)
    got = utils.draw_bounding_boxes(numtorch.tensor(pixels), numtorch.tensor(boxes), **kwargs)
    assert str(got.dtype) == str(want.dtype) and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-7)


def test_draw_bounding_boxes_errors_match_torchvision(tv):
    import torch

    image = np.zeros((3, 10, 10), np.uint8)
    cases = [
        (np.zeros((2, 3, 10, 10), np.uint8), [[0, 0, 5, 5]], {}),
        (np.zeros((2, 10, 10), np.uint8), [[0, 0, 5, 5]], {}),
        (image, [[6, 0, 5, 5]], {}),
        (image, [[0, 0, 5, 5]], {"labels": ["a", "b"]}),
        (image, [[0, 0, 5, 5], [1, 1, 2, 2]], {"colors": ["red"]}),
        (image, [[0, 0, 5, 5]], {"colors": (1, 2)}),
    ]
    for img, boxes, kwargs in cases:
        with pytest.raises(ValueError) as want:
            tv.utils.draw_bounding_boxes(torch.from_numpy(img), torch.tensor(boxes), **kwargs)
        with pytest.raises(ValueError) as got:
            utils.draw_bounding_boxes(numtorch.tensor(img), numtorch.tensor(boxes), **kwargs)
        assert str(got.value) == str(want.value)
    with pytest.warns(UserWarning, match="No box was drawn"):
        out = utils.draw_bounding_boxes(numtorch.tensor(image), numtorch.zeros(0, 4))
    assert out.numpy().sum() == 0
