"""``torch.backends`` flags, accepted for compatibility (they change nothing here)."""

import types

cudnn = types.SimpleNamespace(benchmark=False, deterministic=False, enabled=True,
                              is_available=lambda: False)
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)

# Which scaled-dot-product-attention kernels may run (torch.backends.cuda.*_sdp_enabled; the
# flags are global, not CUDA-only). numtorch computes every one of them with the math path; on
# the CPU PyTorch has only the math and flash kernels, so those are the two that count.
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _sdp_flag(name):
    def enabled():
        return _sdp[name]

    def enable(enabled):
        _sdp[name] = bool(enabled)
    return enabled, enable


def sdp_cpu_viable():
    """Whether a kernel PyTorch's CPU build can run (math or flash) is enabled."""
    return _sdp["math"] or _sdp["flash"]


cuda = types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False))
(cuda.flash_sdp_enabled, cuda.enable_flash_sdp) = _sdp_flag("flash")
(cuda.mem_efficient_sdp_enabled, cuda.enable_mem_efficient_sdp) = _sdp_flag("mem_efficient")
(cuda.math_sdp_enabled, cuda.enable_math_sdp) = _sdp_flag("math")
(cuda.cudnn_sdp_enabled, cuda.enable_cudnn_sdp) = _sdp_flag("cudnn")
