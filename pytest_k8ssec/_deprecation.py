"""Old public names keep working for one release, with a ``DeprecationWarning`` naming the new one.

Every rename goes through here, so the removal release and the message wording are in one place,
and the README's changelog lists each rename this module knows (tests/unit/test_api.py checks it).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
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


def keyword_only(*positional: str, renamed: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """Options that became keyword-only (and keywords that were renamed) keep working one release.

    ``positional`` names the options in the order a caller could pass them by position before
    (under their new names), right after the parameters that stay positional; ``renamed`` maps
    an old keyword to its new one. Either use warns, naming the spelling that replaces it.
    Signature introspection (``inspect.signature``, the API docs) sees only the new signature.
    """
    renames = dict(renamed or {})

    def decorate(func: F) -> F:
        kept = sum(
            p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for p in inspect.signature(func).parameters.values()
        )
        name = func.__qualname__  # "RbacView.can" tells a method from a helper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            if len(args) <= kept and renames.keys().isdisjoint(kwargs):
                return func(*args, **kwargs)  # today's spelling: no work beyond this test (hot paths use it)
            for old, new in renames.items():
                renamed_keyword(kwargs, old, new, where=name)
            if len(args) > kept:
                extra = args[kept:]
                if len(extra) > len(positional):
                    raise TypeError(
                        f"{name}() takes {kept} positional argument{'s' if kept != 1 else ''} "
                        f"but {len(args)} were given"
                    )
                moved = positional[: len(extra)]
                for option, value in zip(moved, extra):
                    if option in kwargs:
                        raise TypeError(f"{name}() got multiple values for argument {option!r}")
                    kwargs[option] = value
                warn(f"passing {', '.join(moved)} to {name}() by position", f"{name}(..., {moved[0]}=...)")
                args = args[:kept]
            return func(*args, **kwargs)

        # What the changelog must list (tests/unit/test_api.py reads it).
        setattr(wrapper, "__deprecated_options__", (positional, renames))  # noqa: B010
        return wrapper  # type: ignore[return-value]

    return decorate
