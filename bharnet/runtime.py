"""Process-wide CPU settings that make PyTorch on CPU much faster for GCN-sized tensors, and the precision
inference runs at.

glibc serves every allocation above 32 MB with a fresh mmap and unmaps it on free, so each large activation
costs thousands of page faults on every use: at batch 16 this alone takes a third of a GCN's CPU inference
time. Telling malloc never to use mmap and never to trim keeps freed memory for reuse. The ``bharnet``
command does this at start; library users may call :func:`reuse_freed_memory` themselves.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import platform
import sys
import warnings

import torch

from bharnet.errors import ConfigError

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_applied = False


def reuse_freed_memory() -> bool:
    """Keep freed heap memory for reuse (glibc only); True when applied. Peak memory use is unchanged,
    but the process does not hand freed memory back to the system until it exits."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    _applied = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _applied


PRECISION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
PRECISIONS = tuple(PRECISION_DTYPES)


def native_bf16(device: torch.device) -> bool | None:
    """Whether ``device`` does bfloat16 arithmetic in hardware (an x86 CPU with AVX512-BF16 or AMX, a GPU from
    Ampere on); None where this torch or this kind of CPU cannot tell."""
    if device.type == "cuda":
        major, _ = torch.cuda.get_device_capability(device)
        return major >= 8
    if device.type != "cpu" or platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if not all(probes):  # private probes of recent torch releases
        return None
    return any(probe() for probe in probes)


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r}; choose one of {', '.join(PRECISIONS)}")


def inference_precision(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """A reusable context that runs a model's inference at ``precision``: ``fp32`` as trained, or ``bf16``
    (autocast: convolutions and matmuls in bfloat16, which halves the memory they stream and multiplies the
    arithmetic rate of hardware that has it; the classifier heads hand fp32 logits to the fusion). Warns where
    ``device`` would only emulate bfloat16, slower than fp32."""
    check_precision(precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    if native_bf16(device) is False:
        warnings.warn(f"{device}: no native bfloat16 arithmetic here (an x86 CPU needs AVX512-BF16 or AMX, a GPU "
                      "compute capability 8.0); bf16 runs, but likely slower than fp32", stacklevel=2)
    return torch.autocast(device.type, dtype=torch.bfloat16)
