"""Waiting for a state, not for a time (test helper)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str, timeout: float = 300.0, interval: float = 0.2) -> T:
    """Poll ``condition()`` until it is truthy; fail naming ``what`` after ``timeout`` seconds.

    Waits for a state, not for a time: a loaded machine only makes it slower, never wrong.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:g} s: {what}")
        time.sleep(interval)
