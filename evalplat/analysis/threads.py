"""How many BLAS threads the analysis and the pair scheduler use: chosen, not inherited.

Their matrices are small (a few dozen columns) and numpy's work comes in many short calls, so
OpenBLAS threads mostly wait on each other; on the 2-core machine this was measured on, two
threads made analyze up to 7x slower under load and no faster when idle (README, "Analysis
benchmarks").  ANALYSIS_BLAS_THREADS sets the number (default 1).
"""
from contextlib import contextmanager

from django.conf import settings
from threadpoolctl import threadpool_limits


@contextmanager
def analysis_threads():
    """Run the enclosed work with ANALYSIS_BLAS_THREADS BLAS threads."""
    with threadpool_limits(limits=settings.ANALYSIS_BLAS_THREADS, user_api="blas"):
        yield
