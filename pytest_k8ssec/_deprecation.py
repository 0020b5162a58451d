"""Old public names keep working for one release, with a ``DeprecationWarning`` naming the new one.

Every rename goes through here, so the removal release and the message wording are in one place,
and the README's changelog lists each rename this module knows (tests/unit/test_deprecation.py).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, Final, TypeVar

#: The release that removes what is deprecated now.
REMOVED_IN: Final = "0.3.0"

F = TypeVar("F", bound=Callable[..., Any])


def warn(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (both as the user writes them)."""
    warnings.warn(
        f"{old} is deprecated and will be removed in pytest-k8ssec {REMOVED_IN}; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed(old_name: str, func: F) -> F:
    """``func`` under its old name: the same call, preceded by a warning naming ``func``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        warn(f"{old_name}()", f"{func.__name__}()")
        return func(*args, **kwargs)

    wrapper.__name__ = old_name
    wrapper.__qualname__ = old_name
    return wrapper  # type: ignore[return-value]


def renamed_keyword(kwargs: dict[str, Any], old: str, new: str, *, where: str) -> None:
    """Move ``kwargs[old]`` to ``kwargs[new]`` with a warning; both given is a ``TypeError``."""
    if old not in kwargs:
        return
    if new in kwargs:
        raise TypeError(f"{where}() got both {old}= (deprecated) and {new}=; pass only {new}=")
    warn(f"{where}({old}=...)", f"{where}({new}=...)", stacklevel=4)
    kwargs[new] = kwargs.pop(old)
