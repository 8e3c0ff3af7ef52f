"""Comparison of the legacy's and the new upstream's responses: status, chosen headers, normalised bodies."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strangler_proxy.dataplane.shadow import ResponseSnapshot, compare_responses
from strangler_proxy.dataplane.shadow.compare import MAX_DIFF_CHARS
from strangler_proxy.dataplane.shadow.normalise import drop_json_paths, html_lines
from strangler_proxy.routes import ShadowSettings

pytestmark = pytest.mark.unit

JSON = [(b"content-type", b"application/json")]
HTML = [(b"content-type", b"text/html; charset=utf-8")]


def snapshot(body: bytes | None, headers=JSON, status: int = 200) -> ResponseSnapshot:
    return ResponseSnapshot(status=status, headers=list(headers), body=body)


def compare(legacy: ResponseSnapshot, new: ResponseSnapshot, **settings: object):
    return compare_responses(ShadowSettings(**settings), legacy, new)


def test_identical_responses_match_with_an_empty_diff() -> None:
    result = compare(snapshot(b'{"a": 1}'), snapshot(b'{"a": 1}'))
    assert result.equal and result.diff == ""


def test_json_key_order_and_spacing_are_ignored() -> None:
    result = compare(
        snapshot(b'{"a": 1, "b": [1, {"x": 2, "y": 3}]}'), snapshot(b'{"b":[1,{"y":3,"x":2}],"a":1}')
    )
    assert result.equal


def test_a_json_value_difference_is_a_readable_diff() -> None:
    result = compare(
        snapshot(b'{"name": "Mug", "price": "4.50"}'), snapshot(b'{"name": "Mug", "price": 4.5}')
    )
    assert not result.equal
    assert "body (JSON, keys sorted)" in result.diff
    assert '-  "price": "4.50"' in result.diff and '+  "price": 4.5' in result.diff


def test_ignored_json_paths_leave_volatile_fields_out() -> None:
    legacy = snapshot(
        b'{"generated_at": 1, "items": [{"id": 1, "ts": 5}, {"id": 2, "ts": 6}], "meta": {"n": 1}}'
    )
    new = snapshot(
        b'{"generated_at": 2, "items": [{"id": 1, "ts": 7}, {"id": 2, "ts": 8}], "meta": {"n": 9}}'
    )
    assert not compare(legacy, new).equal
    assert not compare(legacy, new, ignore_json_paths=("generated_at", "items.*.ts")).equal
    assert compare(legacy, new, ignore_json_paths=("generated_at", "items.*.ts", "meta.n")).equal


def test_drop_json_paths_handles_wildcards_indices_and_missing_paths() -> None:
    document = {"a": [{"b": 1, "c": 2}, {"b": 3}], "d": {"e": {"f": 1}, "g": 2}, "h": [1, 2, 3]}
    assert drop_json_paths(document, ["a.*.b", "d.*.f", "h.1", "nope.x", "a.9.b", "d.g.z"]) == {
        "a": [{"c": 2}, {}],
        "d": {"e": {}, "g": 2},
        "h": [1, 3],
    }


def test_the_new_body_not_being_json_is_a_mismatch() -> None:
    result = compare(snapshot(b'{"a": 1}'), snapshot(b"<html>oops</html>"))
    assert not result.equal and "not JSON" in result.diff


def test_status_differences_are_reported() -> None:
    result = compare(snapshot(b"{}", status=200), snapshot(b"{}", status=404))
    assert not result.equal and "status: legacy 200, new 404" in result.diff


def test_only_the_chosen_headers_are_compared() -> None:
    legacy = snapshot(b"{}", headers=[*JSON, (b"x-served-by", b"django"), (b"cache-control", b"no-cache")])
    new = snapshot(b"{}", headers=[(b"Content-Type", b"application/json"), (b"x-served-by", b"flask")])
    assert compare(legacy, new).equal
    result = compare(legacy, new, compare_headers=("content-type", "Cache-Control"))
    assert not result.equal and "header cache-control: legacy 'no-cache', new None" in result.diff


def test_content_type_parameters_are_compared_without_cosmetics() -> None:
    legacy = snapshot(b"<p>x</p>", headers=[(b"content-type", b"text/html; charset=utf-8")])
    new = snapshot(b"<p>x</p>", headers=[(b"content-type", b'Text/HTML;Charset="UTF-8"')])
    assert compare(legacy, new).equal
    other = snapshot(b"<p>x</p>", headers=[(b"content-type", b"text/plain; charset=utf-8")])
    assert not compare(legacy, other).equal
    assert compare(
        snapshot(b"{}"), snapshot(b"{}", headers=[(b"content-type", b"application/json; charset=UTF-8")])
    ).equal
    latin = snapshot(b"{}", headers=[(b"content-type", b"application/json; charset=latin-1")])
    assert not compare(snapshot(b"{}"), latin).equal


def test_html_compares_after_whitespace_normalisation() -> None:
    legacy = snapshot(
        b"<html>\n  <body>\n    <h1>Mugs</h1>\n    <p>Two   mugs</p>\n  </body>\n</html>\n", HTML
    )
    same = snapshot(b"<html><body><h1>Mugs</h1> <p>Two mugs</p></body></html>", HTML)
    assert compare(legacy, same).equal
    different = snapshot(b"<html><body><h1>Cups</h1><p>Two mugs</p></body></html>", HTML)
    result = compare(legacy, different)
    assert not result.equal and "-<h1>Mugs</h1>" in result.diff and "+<h1>Cups</h1>" in result.diff


def test_gzip_and_identity_bodies_with_the_same_text_match() -> None:
    body = json.dumps({"a": list(range(50))}).encode()
    zipped = snapshot(gzip.compress(body), headers=[*JSON, (b"content-encoding", b"gzip")])
    assert compare(snapshot(body), zipped).equal
    assert compare(zipped, snapshot(body)).equal


def test_bodies_too_large_to_keep_are_left_out() -> None:
    assert compare(snapshot(None), snapshot(b'{"a": 2}')).equal
    assert not compare(snapshot(None, status=200), snapshot(None, status=500)).equal


def test_binary_bodies_are_compared_byte_for_byte() -> None:
    octets = [(b"content-type", b"application/octet-stream")]
    assert compare(snapshot(b"\x00\xff", octets), snapshot(b"\x00\xff", octets)).equal
    result = compare(snapshot(b"\x00\xff", octets), snapshot(b"\x00\xfe\x01", octets))
    assert not result.equal and "legacy 2 bytes, new 3 bytes" in result.diff


def test_long_diffs_are_truncated() -> None:
    legacy = snapshot(json.dumps({f"k{i}": i for i in range(3000)}).encode())
    new = snapshot(json.dumps({f"k{i}": -i for i in range(3000)}).encode())
    result = compare(legacy, new)
    assert not result.equal
    assert len(result.diff) <= MAX_DIFF_CHARS + 100
    assert "more diff lines" in result.diff


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(deadline=None)
@given(json_values)
def test_any_document_matches_its_own_reencoding_with_shuffled_keys(document) -> None:
    legacy = snapshot(json.dumps(document).encode())
    new = snapshot(json.dumps(document, sort_keys=True, indent=3).encode())
    assert compare(legacy, new).equal


@settings(deadline=None)
@given(
    st.lists(st.sampled_from(["<p>", "</p>", "<b>", "</b>", "word", "other", " ", "\n", "\t"]), max_size=30)
)
def test_html_normalisation_is_idempotent(parts: list[str]) -> None:
    text = "".join(parts)
    once = "\n".join(html_lines(text))
    assert html_lines(once.replace("\n", "")) == html_lines(text)
