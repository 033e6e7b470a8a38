"""Process-wide CPU settings that make PyTorch on CPU much faster for GCN-sized tensors.

glibc serves every allocation above 32 MB with a fresh mmap and unmaps it on free, so each large activation
costs thousands of page faults on every use: at batch 16 this alone takes a third of a GCN's CPU inference
time. Telling malloc never to use mmap and never to trim keeps freed memory for reuse. The ``bharnet``
command does this at start; library users may call :func:`reuse_freed_memory` themselves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

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
