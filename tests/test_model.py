"""The frozen data every stage shares (model.py): a CheckResult's props cannot change."""

from __future__ import annotations

import pickle

import pytest

from mailaudit.model import CheckResult, Props, PropValue


def test_check_props_are_read_only_and_keep_their_order() -> None:
    given: dict[str, PropValue] = {"header.d": "example.com", "dkim.index": 0, "dkim.l": False}
    check = CheckResult("dkim", "pass", "", given)
    given["header.d"] = "changed.example"  # the caller's dict is copied, not shared
    assert isinstance(check.props, Props)
    assert check.props["header.d"] == "example.com"
    assert list(check.props) == ["header.d", "dkim.index", "dkim.l"]
    with pytest.raises(TypeError):
        check.props["header.d"] = "x"  # type: ignore[index]
    assert not hasattr(check.props, "update") and not hasattr(check.props, "setdefault")


def test_check_results_pickle_compare_and_hash() -> None:
    check = CheckResult("spf", "pass", "ok", {"smtp.mailfrom": "a@example.org"})
    copy = pickle.loads(pickle.dumps(check))
    assert copy == check and hash(copy) == hash(check)
    assert isinstance(copy.props, Props)
    assert check.props == {"smtp.mailfrom": "a@example.org"}
    assert CheckResult("spf", "pass").props == {}
