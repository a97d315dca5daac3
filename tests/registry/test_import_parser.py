"""The import parser's caches and its way back from the workers: a subject, an order of fields
or a place and date of birth seen before never lets a bad line through; every line that
carries a bad value is refused, in one process or in workers; rows come back from a worker as
they were made."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from test_import import PERSON, rec

from socialcredit.errors import ImportRejected, InputError
from socialcredit.identifiers import resident_id
from socialcredit.policy.loader import Loaded
from socialcredit.registry import importing, subjects
from socialcredit.registry.importing import RecordFile, _Chunk, _Parser, _Spec
from socialcredit.registry.ledger import ValidRecord

AS_OF = date(2024, 6, 1)
ORG = "91110000600037341L"
BAD_CHECK = "340524198001010011"  # PERSON's place and birth date, a wrong check character
NOWHERE = "99999919800101001"  # no such region code
NOWHERE_ID = NOWHERE + ric.calc_check_digit(NOWHERE + "0")  # its check character right


def write(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def problems(path: Path, catalog: Loaded, **kw: Any) -> list[tuple[int, str, str]]:
    source = RecordFile(path, catalog=catalog, as_of=AS_OF, **kw)
    with pytest.raises(ImportRejected) as caught:
        for _ in source.batches():
            pass
    return list(caught.value.problems)


@pytest.fixture
def parser(tmp_path: Path, registry_catalog: Loaded) -> Iterator[_Parser]:
    path = write(tmp_path / "x.jsonl", [{}])
    parser = _Parser(_Spec(str(path), "jsonl", registry_catalog, AS_OF, (), {}))
    yield parser
    parser.close()


# each way of reading the file: one pass here, or chunks of a few lines parsed by two workers
WAYS = [{"jobs": 1}, {"jobs": 2, "chunk_bytes": 600}]


@pytest.mark.parametrize("way", WAYS)
def test_a_bad_subject_is_refused_on_every_line_that_carries_it(
    tmp_path: Path, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch, way: dict[str, Any]
) -> None:
    monkeypatch.setattr(importing, "PARALLEL_BYTES", 0)
    why = {BAD_CHECK: "check character does not match", NOWHERE_ID: "region code does not exist"}
    lines, expected = [], []
    for i in range(60):
        subject = [PERSON, BAD_CHECK, ORG, NOWHERE_ID][i % 4]
        lines.append(rec(i, subject))
        if subject in why:
            expected.append((i + 1, "subject", why[subject]))
    found = problems(write(tmp_path / "in.jsonl", lines), registry_catalog, **way)
    assert len(found) == len(expected)
    for (n, field, message), (line, name, reason) in zip(found, expected, strict=True):
        assert (n, field) == (line, name) and reason in message


@pytest.mark.parametrize("way", WAYS)
def test_fields_seen_right_before_do_not_let_wrong_ones_through(
    tmp_path: Path, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch, way: dict[str, Any]
) -> None:
    monkeypatch.setattr(importing, "PARALLEL_BYTES", 0)
    lines: list[Any] = []
    for i in range(0, 40, 4):
        good = rec(i)
        lines += [good, {**good, "colour": 1, "client_key": f"c-{i}"}]
        lines.append({k: v for k, v in rec(i + 2).items() if k != "authority"})
        lines.append(dict(reversed(rec(i + 3).items())))  # the same fields in another order
    found = problems(write(tmp_path / "in.jsonl", lines), registry_catalog, **way)
    expected = []
    for i in range(0, 40, 4):
        expected += [(i + 2, "colour"), (i + 3, "authority")]
    assert [(n, field) for n, field, _ in found] == expected


@pytest.mark.parametrize("way", WAYS)
def test_an_array_or_object_for_a_text_field_is_a_problem_not_a_crash(
    tmp_path: Path, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch, way: dict[str, Any]
) -> None:
    monkeypatch.setattr(importing, "PARALLEL_BYTES", 0)
    lines = [
        rec(0, record_type=["court.refuse"]),
        rec(1, authority={"a": 1}),
        rec(2, subject=[PERSON]),
        rec(3, decided_on=["2024-01-10"]),
        rec(4),
    ]
    found = problems(write(tmp_path / "in.jsonl", lines * 8), registry_catalog, **way)
    fields = ["record_type", "authority", "subject", "decided_on"]
    assert [(n, field) for n, field, _ in found] == [
        (5 * k + j + 1, field) for k in range(8) for j, field in enumerate(fields)
    ]


def _as_validated(value: str) -> str | None:
    """What the parser's subject cache is to hold for ``value``, from the validator itself."""
    try:
        number, kind = subjects.validate(value, field="subject")
    except InputError:
        return None
    if number != value:
        return None
    if kind == "organisation":
        return ""
    return f"{int(value[6:10]) + 18:04d}-{value[10:12]}-{value[12:14]}"


def _agrees(parser: _Parser, value: str) -> None:
    """The parser's answer for ``value`` (as a subject, and on a line) is the validator's."""
    expected = _as_validated(value)
    assert parser._subject(value) == expected, value
    line = [value, "court.refuse", "court", "2024-01-10", "(2024) 1", None, "k", None]
    row = parser._accept(*line, 1)
    if expected is None or expected > "2024-01-10":  # not valid as given, or a minor
        assert row is None, value
    else:
        assert row is not None and row[1] == ("person" if expected else "organisation")
        checked = parser.checker.problems(*line)
        assert isinstance(checked, ValidRecord) and checked.subject == value


_near_ids = st.lists(st.sampled_from("0123456789X"), min_size=18, max_size=18).map("".join)


@settings(max_examples=2_000, deadline=None)
@given(st.lists(_near_ids, min_size=1, max_size=4))
def test_subjects_cached_or_not_are_what_the_validator_says(
    registry_catalog: Loaded, values: list[str]
) -> None:
    parser = _Parser(_Spec(__file__, "jsonl", registry_catalog, AS_OF, (), {}))
    try:
        # each twice: the second time from the parser's caches (of the ID, of its birth)
        for value in [*values, *values]:
            _agrees(parser, value)
    finally:
        parser.close()


def test_ids_of_one_birth_share_its_answer_and_bad_ones_do_not(parser: _Parser) -> None:
    rng = random.Random(3)
    valid = 0
    for _ in range(1_000):
        born = date(1935, 1, 1) + (date(2010, 1, 1) - date(1935, 1, 1)) * rng.random()
        good = resident_id(rng.choice([110101, 340524, 440305]), born, rng.randrange(1000))
        bad = good[:17] + ("0" if good[17] != "0" else "1")
        for value in (good, bad, good.lower(), good):
            _agrees(parser, value)
        valid += _as_validated(good) is not None
    assert valid > 500  # 440305 (Nanshan) exists since 1990
    _agrees(parser, NOWHERE_ID)
    assert parser.births[NOWHERE[:14]] == ""
    _agrees(parser, NOWHERE_ID)  # the birth remembered as none: still refused
    assert parser._accept(ORG, "court.refuse", "court", "2024-01-10", "r", None, None, None, 1)
    # organisations' IDs remembered (some of the bad IDs above are valid USCCs), residents' not
    assert parser.subjects[ORG] == "" and set(parser.subjects.values()) == {""}


def test_rows_come_back_from_a_worker_as_they_were_made(parser: _Parser) -> None:
    rows = [
        ("a", "person", "t", "court", "2024-01-10", "ref ü", None, "k", 3, 19732, 7),
        ("b", "organisation", "t", "samr", "2024-01-11", "r", "o", None, -1, 0, 8),
    ]
    chunk = _Chunk(list(rows), [], 0, 0, {("a", "t"): ("Name", "court")})
    importing._WORKER = parser
    try:
        parser.parse = lambda *_: chunk  # type: ignore[method-assign]
        sent = importing._parse_in_worker((0, 0, 1))
    finally:
        importing._WORKER = None
    assert sent.rows == [] and sent.packed
    back = sent.unpacked()
    assert back.rows == rows and back.packed == b"" and back.names == chunk.names
    assert chunk.unpacked() is chunk


def test_rows_marshal_cannot_write_go_pickled(parser: _Parser) -> None:
    class Text(str):
        pass

    row = (Text("a"), "person", "t", "court", "2024-01-10", "r", None, None, 1, 2, 3)
    chunk = _Chunk([row], [], 0, 0, {})
    importing._WORKER = parser
    try:
        parser.parse = lambda *_: chunk  # type: ignore[method-assign]
        sent = importing._parse_in_worker((0, 0, 1))
    finally:
        importing._WORKER = None
    assert sent is chunk and sent.unpacked().rows == [row]
