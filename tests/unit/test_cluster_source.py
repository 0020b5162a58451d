"""Pieces of sources/cluster.py that need no server (the behaviour is tested live, in tests/live/test_faults.py)."""

from __future__ import annotations

from pytest_k8ssec.sources.cluster import MAX_RETRY_DELAY_S, NotJson, _decode, _dig, _retry_delay


def test_retry_delay_follows_retry_after_within_a_cap_else_backs_off() -> None:
    assert _retry_delay("1", 0) == 1.0
    assert _retry_delay("3600", 0) == MAX_RETRY_DELAY_S  # a server cannot stall the run
    assert [_retry_delay(None, attempt) for attempt in range(2)] == [0.5, 1.0]
    assert _retry_delay("Wed, 21 Oct 2015 07:28:00 GMT", 1) == 1.0
    assert _retry_delay("-5", 0) == 0.5


def test_a_body_that_is_not_json_says_what_it_was_never_what_it_held() -> None:
    html = _decode(b"<html>password=hunter2</html>", "text/html")
    assert isinstance(html, NotJson) and not isinstance(html, dict)
    assert str(html) == "a body that is not JSON (text/html, 29 bytes: Expecting value at byte 0)"
    cut = _decode(b'{"kind": "DeploymentList", "items": [{"metadata": {"name": "sec', "application/json")
    assert isinstance(cut, NotJson) and "sec" not in str(cut) and "application/json" in str(cut)
    assert "not UTF-8" in str(_decode(b"\xff\xfe{", None))
    assert _decode(b"", None) is None


def test_dig_never_assumes_a_shape() -> None:
    refused = {"kind": "Status", "status": "Failure", "code": 403}
    assert _dig(refused, "status", "userInfo", "username") is None
    assert _dig({"status": {"userInfo": {"username": "alice"}}}, "status", "userInfo", "username") == "alice"
    assert _dig(["items"], "items") is None
