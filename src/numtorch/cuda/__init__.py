import importlib

"""``torch.cuda`` stand-in: numtorch runs on the CPU only."""


def is_available():
    return False


def device_count():
    return 0


def manual_seed(seed):
    pass


def manual_seed_all(seed):
    pass


def synchronize(device=None):
    pass


def empty_cache():
    pass


def current_device():
    raise RuntimeError("numtorch runs on the CPU only: no CUDA device is available")


def is_initialized():
    return False


def __getattr__(name):
    # torch.cuda.amp, loaded on first use (``torch.cuda.amp.GradScaler`` after ``import torch``)
    if name == "amp":
        return importlib.import_module(".amp", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
