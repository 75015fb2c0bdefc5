import platform

import pytest

from evalplat.analysis.memory import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_accepts_the_thresholds_that_keep_freed_arrays_on_the_heap():
    # glibc refuses an mmap threshold above 32 MB (returns 0): a larger MMAP_THRESHOLD would
    # silently leave analyze page-faulting every fresh array again.
    assert keep_freed_memory() is True
