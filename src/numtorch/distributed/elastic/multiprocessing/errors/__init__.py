"""``record``: the decorator torchrun programs put on their ``main``.

Under torchrun it writes an uncaught error to a file for the launcher's summary; under ``numtorch
run`` the rank's traceback is already in its prefixed output, so ``record`` only calls the
function (errors propagate unchanged).
"""

import functools

__all__ = ["record"]


def record(fn=None, error_handler=None):
    """Decorate ``fn`` (the program's entry point); usable as ``@record`` or ``@record()``."""
    if fn is None:
        return functools.partial(record, error_handler=error_handler)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper
