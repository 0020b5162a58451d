"""Renamed public names keep working for one release and say what replaces them."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8ssec import _deprecation


def _new(a: int, *, b: int = 0) -> int:
    return a + b


def test_a_renamed_function_warns_with_the_new_name_and_still_works() -> None:
    old = _deprecation.renamed("old_name", _new)
    with pytest.warns(DeprecationWarning, match=r"old_name\(\) is deprecated .* 0\.3\.0; use _new\(\)"):
        assert old(1, b=2) == 3
    assert old.__name__ == "old_name"


def test_a_renamed_keyword_moves_with_a_warning_and_both_at_once_is_an_error() -> None:
    kwargs: dict[str, Any] = {"allowed": ["x"]}
    with pytest.warns(DeprecationWarning, match=r"helper\(allowed=\.\.\.\) is deprecated.*use helper\(allow=\.\.\.\)"):
        _deprecation.renamed_keyword(kwargs, "allowed", "allow", where="helper")
    assert kwargs == {"allow": ["x"]}
    with pytest.raises(TypeError, match="both allowed= .* and allow="):
        _deprecation.renamed_keyword({"allowed": 1, "allow": 2}, "allowed", "allow", where="helper")
    untouched: dict[str, Any] = {"allow": 1}
    _deprecation.renamed_keyword(untouched, "allowed", "allow", where="helper")
    assert untouched == {"allow": 1}
