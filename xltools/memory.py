"""Give memory back to the operating system between the phases of a large job (glibc only).

glibc raises its mmap threshold each time a large block is freed, so after the first few
arrays of a 200,000-row sheet every later one comes from the main heap, whose freed middle
is never returned: the process keeps its high-water mark for the rest of the run. Fixing the
threshold keeps large arrays (whole columns of a huge sheet) in their own mappings (returned on
free), and `malloc_trim` hands back the free pages left between intake, engine and output.
The threshold is 4 MiB, not glibc's starting 128 KiB: the many short-lived arrays of a few
hundred KiB that decoding and scoring make would each be a fresh mapping, paid in page faults
(`xltools rank` on 200,000 rows took 14 s instead of 8 s). Fixing it would also pin the trim
threshold at 128 KiB, shrinking and regrowing the heap at nearly every free; that one is set
high, since `release` trims between the phases anyway. On Windows and macOS, where Excel users
run xltools, both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3     # mallopt parameter numbers (malloc.h)
MMAP_THRESHOLD_BYTES = 4 * 1024**2              # blocks this large get their own mapping
TRIM_THRESHOLD_BYTES = 128 * 1024**2            # free heap top kept until release() trims it


@lru_cache(maxsize=1)
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:                   # not glibc (e.g. musl): nothing to tune
        return None


@lru_cache(maxsize=1)
def tune() -> bool:
    """Keep large blocks in their own mappings for the rest of the process (once)."""
    libc = _libc()
    return bool(libc and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


def release() -> None:
    """Return the heap's free pages to the operating system."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
