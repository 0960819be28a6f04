"""Process-level tuning of glibc's allocator for CPU training loops.

A LightGCN batch allocates a dozen or more ``[num_nodes, dim]`` tensors (layer outputs,
gradients, optimizer temporaries). glibc serves blocks of this size with ``mmap`` or at the
top of the heap and hands them back to the kernel on ``free``, so the next batch pays a page
fault per 4 KiB page to get them again: 90k-145k faults per Amazon-book epoch. Raising the
mmap and trim thresholds keeps freed blocks in the process for reuse: faults per epoch fell
to a handful and LightGCN epochs got 14-25 % faster at two threads and 33-43 % faster at one
on this project's 2-core VM (``scripts/bench_spmm.py``, docs/benchmarks.md §2c). It is what
PyTorch's performance guide achieves by preloading jemalloc or tcmalloc, without an extra
dependency.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

logger = logging.getLogger(__name__)

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc caps M_MMAP_THRESHOLD at HEAP_MAX_SIZE / 2 = 32 MiB on 64-bit systems
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 1024 * 1024 * 1024

_applied = False


def keep_freed_memory() -> bool:
    r"""Ask glibc to keep freed blocks up to 32 MiB (and up to 1 GiB of free heap top) in
    the process instead of returning them to the OS.

    Affects the whole process and cannot be undone, so it is opt-out
    (``TrainConfig.keep_freed_memory``); the resident size stays near its peak
    afterwards. Idempotent.

    Returns:
        bool: :obj:`True` if the setting is in effect (Linux with glibc),
        :obj:`False` where it does not apply (other C libraries, macOS, Windows).
    """
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and friends have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if ok:
        logger.debug("glibc mallopt: mmap threshold 32 MiB, trim threshold 1 GiB")
    _applied = ok
    return ok
