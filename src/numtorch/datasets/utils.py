"""Downloading, checking and unpacking dataset files (``torchvision.datasets.utils``), and a
restricted unpickler for the pickled archives of CIFAR."""

import hashlib
import importlib.util
import io
import os
import pickle
import tarfile
import urllib.error
import urllib.request
import zipfile

__all__ = ["calculate_md5", "check_integrity", "download_and_extract_archive", "download_url",
           "extract_archive", "verify_str_arg"]


def calculate_md5(fpath, chunk_size=1024 * 1024):
    """The MD5 hex digest of the file ``fpath``."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_integrity(fpath, md5=None):
    """Whether ``fpath`` is a file (with MD5 ``md5`` when given)."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return calculate_md5(fpath) == md5


def download_url(url, root, filename=None, md5=None, max_redirect_hops=3):
    """Download ``url`` to ``root/filename`` unless a file with the right MD5 is there.

    Without network access the error names the file (and its MD5) to put in ``root``.
    """
    root = os.path.expanduser(root)
    filename = filename or os.path.basename(url)
    fpath = os.fspath(os.path.join(root, filename))
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    tmp = fpath + ".part"
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        os.replace(tmp, fpath)
    except (urllib.error.URLError, OSError) as exc:
        checksum = f" (md5 {md5})" if md5 else ""
        raise RuntimeError(
            f"Could not download {url} ({exc}). Without network access, place the file "
            f"{filename!r}{checksum} in {root!r} and run again.") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    if not check_integrity(fpath, md5):
        raise RuntimeError("File not found or corrupted.")


def _within(directory, member_name):
    target = os.path.realpath(os.path.join(directory, member_name))
    return os.path.commonpath([os.path.realpath(directory), target]) == \
        os.path.realpath(directory)


def extract_archive(from_path, to_path=None, remove_finished=False):
    """Unpack a ``.tar``/``.tar.gz``/``.tgz``/``.zip`` archive into ``to_path`` (default: its
    directory); members that would land outside ``to_path`` are refused."""
    from_path = os.fspath(from_path)
    to_path = os.path.dirname(from_path) if to_path is None else os.fspath(to_path)
    if from_path.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz")):
        with tarfile.open(from_path) as tar:
            for member in tar.getmembers():
                if not _within(to_path, member.name) or member.issym() or member.islnk():
                    raise RuntimeError(f"Refusing to extract {member.name!r} from {from_path}: "
                                       "it points outside the target directory")
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(to_path, **safe)  # members also checked above
    elif from_path.endswith(".zip"):
        with zipfile.ZipFile(from_path) as archive:
            for name in archive.namelist():
                if not _within(to_path, name):
                    raise RuntimeError(f"Refusing to extract {name!r} from {from_path}: it "
                                       "points outside the target directory")
            archive.extractall(to_path)
    else:
        raise RuntimeError(f"Unknown compression or archive type: {from_path!r}")
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(url, download_root, extract_root=None, filename=None,
                                 md5=None, remove_finished=False):
    """:func:`download_url` then :func:`extract_archive`."""
    download_root = os.path.expanduser(download_root)
    extract_root = download_root if extract_root is None else extract_root
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root, remove_finished)


def verify_str_arg(value, arg=None, valid_values=None, custom_msg=None):
    """``value`` when it is one of ``valid_values``, else a ValueError saying so."""
    if not isinstance(value, str):
        msg = "Expected type str" + (f" for argument {arg}" if arg is not None else "")
        raise ValueError(msg + f", but got type {type(value)}.")
    if valid_values is None or value in valid_values:
        return value
    if custom_msg is not None:
        raise ValueError(custom_msg)
    valid = "'" + "', '".join(str(v) for v in valid_values) + "'"
    raise ValueError(f"Unknown value '{value}' for argument {arg}. Valid values are {{{valid}}}.")


# The globals a pickled dict of NumPy arrays needs, and nothing else: no code runs on load.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: the dataset files are expected to "
                "hold only dicts, lists, strings, numbers and NumPy arrays")
        if module.startswith("numpy.core.") and importlib.util.find_spec("numpy._core"):
            module = "numpy._core." + module[len("numpy.core."):]  # NumPy 2's home for them
        return super().find_class(module, name)


def load_pickle(path, encoding="latin1"):
    """Unpickle ``path`` allowing only builtin containers, numbers, strings and NumPy arrays."""
    with open(path, "rb") as f:
        return _ArrayUnpickler(io.BytesIO(f.read()), encoding=encoding).load()
