"""``torch.backends`` flags, accepted for compatibility (they change nothing here)."""

import types

cudnn = types.SimpleNamespace(benchmark=False, deterministic=False, enabled=True,
                              is_available=lambda: False)
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cuda = types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False))
