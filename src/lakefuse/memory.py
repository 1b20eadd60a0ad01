"""Handing freed memory back to the operating system between stages.

A stage frees its arrays when it ends, but glibc's allocator keeps freed heap pages (in every
thread's arena: the judge scores on several threads) for later use, so the process stays as
large as the stage's peak and the next stage starts from there. :func:`trim` asks glibc to
return them (``malloc_trim``); elsewhere (macOS, musl) it does nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def trim() -> bool:
    """Return the heap's free pages to the system (glibc); whether it could be asked."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
