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


@_deprecation.keyword_only("drop", "allow", renamed={"allowed": "allow"})
def _helper(objs: str, *, drop: bool = True, allow: tuple[str, ...] = ()) -> tuple[str, bool, tuple[str, ...]]:
    return objs, drop, allow


def test_keyword_only_options_passed_by_position_still_work_with_a_warning() -> None:
    with pytest.warns(
        DeprecationWarning,
        match=r"passing drop, allow to _helper\(\) by position is deprecated .* use _helper\(\.\.\., drop=\.\.\.\)",
    ) as record:
        assert _helper("o", False, ("x",)) == ("o", False, ("x",))
    assert record[0].filename == __file__, "the warning points at the caller's line"
    with pytest.warns(DeprecationWarning, match=r"passing drop to _helper\(\) by position"):
        assert _helper("o", False, allow=("y",)) == ("o", False, ("y",))


def test_keyword_only_keeps_the_new_spelling_silent_and_refuses_what_python_would() -> None:
    import inspect
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _helper("o", drop=False, allow=("x",)) == ("o", False, ("x",))
    assert str(inspect.signature(_helper)).startswith("(objs: 'str', *, drop: 'bool' = True")
    with pytest.raises(TypeError, match=r"_helper\(\) takes 1 positional argument but 4 were given"):
        _helper("o", False, (), "extra")
    with pytest.raises(TypeError, match="multiple values for argument 'drop'"):
        _helper("o", False, drop=True)


def test_keyword_only_renames_old_keywords_with_a_warning() -> None:
    with pytest.warns(
        DeprecationWarning, match=r"_helper\(allowed=\.\.\.\) is deprecated.*use _helper\(allow=\.\.\.\)"
    ) as record:
        assert _helper("o", allowed=("x",)) == ("o", True, ("x",))
    assert record[0].filename == __file__
