"""Suite-wide settings: the torch oracle runs single-threaded.

On a 2-core machine shared with other work, torch's default thread pool makes each small oracle
call several times slower; one thread keeps the suite fast and changes no result.
"""

try:
    import torch
except ImportError:
    torch = None

if torch is not None:
    torch.set_num_threads(1)
