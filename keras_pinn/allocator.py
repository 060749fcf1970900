"""Keeps glibc's malloc from returning large blocks to the OS at every step.

A PINN training step allocates and frees the same large temporaries (one
``(points, width)`` array per layer and per derivative stream) every step.
glibc serves blocks above its mmap threshold with ``mmap`` and gives them
back with ``munmap``, so every step faults in (and the kernel zeroes) fresh
pages. On the 2-core CPU of docs/performance.md, glibc's defaults left the
hand-written JAX, TensorFlow and PyTorch loops and DeepXDE 1.1x to 3.4x
slower on 10,000 points than these settings. Raising the mmap and trim
thresholds keeps the memory in the process and reuses it.

The compiled step's worker threads (XLA's, on JAX and TensorFlow) allocate
from glibc's per-thread arenas, whose heaps are trimmed back to the OS
regardless of those thresholds: on JAX, with one training step per compiled
call, this still faulted in about 100 MB of fresh pages per step on the
Helmholtz problem (2.2 million page faults in 90 steps). One arena for the
whole process (``tune_malloc(arena_max=1)``, or ``MALLOC_ARENA_MAX=1``)
removes that: there the hand-written JAX loop went from 10.8 to 20.1
steps/s and keras-pinn from 11.3 to 23.2. One arena is not the default
because it was not a win everywhere: in the comparison run with it,
keras-pinn on the two smaller problems and on TensorFlow was slower than in
the run without it (docs/performance.md, "One malloc arena"). Four arenas,
the default since 2026-11-29, kept most of the gain on Helmholtz without
that cost in the checks of docs/performance.md.

Either set, before Python starts::

    export MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456 MALLOC_ARENA_MAX=4

or call :func:`tune_malloc` once, early (before training; the arena limit
only applies to threads that have not allocated yet, so before the first
computation is best). It changes the whole process (memory freed by it
stays reserved for reuse, so peak RSS can grow, and all threads share one
allocator lock), which is why keras-pinn does not do it on import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["ENVIRONMENT", "tune_malloc"]

# mallopt parameter numbers from glibc's malloc.h
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -2, -3, -8

#: The equivalent environment variables (read by glibc at process start).
ENVIRONMENT = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
    "MALLOC_TOP_PAD_": str(1 << 28),
    "MALLOC_ARENA_MAX": "4",
}


def tune_malloc(
    mmap_threshold: int = 1 << 30, trim_threshold: int = 1 << 30, top_pad: int = 1 << 28, arena_max: int = 4
) -> bool:
    """Raises glibc malloc's mmap threshold, trim threshold and top pad, and
    optionally limits it to ``arena_max`` arenas.

    The defaults are the values measured in docs/performance.md (the same as
    :data:`ENVIRONMENT`); glibc may ignore a value it deems too large.

    Args:
        mmap_threshold: blocks at least this large are served by ``mmap``.
        trim_threshold: free memory at the top of the heap kept before
            trimming it back to the OS.
        top_pad: extra memory requested from the OS at each heap growth.
        arena_max: most malloc arenas (glibc's own limit is 8 per core;
            0 leaves it). 4, the default since 2026-11-29, sped up JAX on
            the 10,000-point problems (Helmholtz 1.35x) and left the
            smaller problem and the other backends about as fast; 1 makes
            every thread allocate from the main heap, which doubled the
            speed of Helmholtz on JAX but slowed smaller problems (see
            above).

    Returns:
        True when applied, False where the C library is not glibc (macOS,
        Windows, musl), where it does nothing.

    Example:

    ```python
    from keras_pinn.allocator import tune_malloc
    tune_malloc()          # once, before model.fit
    ```
    """
    for value, name in (
        (mmap_threshold, "mmap_threshold"), (trim_threshold, "trim_threshold"), (top_pad, "top_pad"),
        (arena_max, "arena_max"),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"`{name}` must be an integer >= 0. Received: {name}={value!r}")
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    clamp = (1 << 31) - 1
    ok = mallopt(_M_MMAP_THRESHOLD, min(mmap_threshold, clamp))
    ok &= mallopt(_M_TRIM_THRESHOLD, min(trim_threshold, clamp))
    ok &= mallopt(_M_TOP_PAD, min(top_pad, clamp))
    if arena_max:
        ok &= mallopt(_M_ARENA_MAX, min(arena_max, clamp))
    return bool(ok)


def environment_applied() -> bool:
    """Whether the variables of :data:`ENVIRONMENT` are set in this process."""
    return all(key in os.environ for key in ENVIRONMENT)
