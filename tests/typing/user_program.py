import numtorch  # noqa: F401
