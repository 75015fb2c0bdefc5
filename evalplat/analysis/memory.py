"""Freed arrays kept for reuse by the C library instead of handed back to the kernel (glibc only).

At a million judgments the analysis makes thousands of short-lived arrays of 8 MB and more.
glibc serves every block above its mmap threshold (128 kB, rising only as far as the largest
block freed so far) with a fresh mmap, which the kernel zeroes page by page on first touch, and
unmaps it on free: `analyze` on 1M judgments spent 2.4-4.2 s of system time on those page faults
against 5.5 s of its own (measured with /usr/bin/time on bench_analyze's data; 1.4 s with the
settings below, user time and peak memory unchanged).  `keep_freed_memory` raises the mmap
threshold to glibc's largest (32 MB) and the trim and top-pad thresholds with it, so the blocks
come from the heap and go back to it.  A process that runs one analysis and exits (`manage.py
analyze`) loses nothing by keeping its freed memory; a long-lived server should not call it.
"""
import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 * 1024 ** 2      # glibc refuses more (HEAP_MAX_SIZE / 2 on 64-bit)
TRIM_THRESHOLD = 1024 ** 3
TOP_PAD = 256 * 1024 ** 2


def keep_freed_memory():
    """Ask glibc to keep freed blocks up to MMAP_THRESHOLD on the heap; True where it agreed."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):   # no C library by that name, or not glibc
        return False
    return all(mallopt(option, value) == 1 for option, value in
               ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_TOP_PAD, TOP_PAD)))
