"""Options that became keyword-only (and keywords that were renamed) keep working one release.

A private stand-in with the interface of ``pytest_k8ssec._deprecation.keyword_only``, which another
change of the same release adds; once both are in, the importers switch to that one and this
module goes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pytest_k8ssec._deprecation import renamed_keyword, warn

F = TypeVar("F", bound=Callable[..., Any])


def keyword_only(*positional: str, renamed: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """Accept the old positional options and old keywords of ``func`` with a ``DeprecationWarning``.

    ``positional`` names, under their new names and in the order a caller could pass them by
    position before, the options that follow the parameters that stay positional; ``renamed``
    maps an old keyword to its new one. ``inspect.signature`` sees only the new signature.
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
            for old, new in renames.items():
                renamed_keyword(kwargs, old, new, where=name)
            if len(args) > kept:
                extra = args[kept:]
                if len(extra) > len(positional):
                    raise TypeError(f"{name}() takes {kept} positional arguments but {len(args)} were given")
                moved = positional[: len(extra)]
                for option, value in zip(moved, extra):
                    if option in kwargs:
                        raise TypeError(f"{name}() got multiple values for argument {option!r}")
                    kwargs[option] = value
                warn(f"passing {', '.join(moved)} to {name}() by position", f"{name}(..., {moved[0]}=...)")
                args = args[:kept]
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
