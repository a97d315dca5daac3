"""Every operation of the live server's OpenAPI (``/openapi.json``), fuzzed by schemathesis with
each role's key and with none: no input gives a 5xx, and every 4xx says what is wrong as
``{"error": {"field": ..., "message": ...}}``.

Each operation gets inputs valid per the schema, deliberately invalid ones (wrong types, missing
fields, out-of-range values) and, since random text is never a valid resident ID or a known
record, inputs that reach past validation: real subject IDs, the records on file, plausible
record bodies. Examples are derandomized so a run is reproducible, and few per operation so the
whole file stays well under a minute."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from live import Live, org_id, person_id, serve
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from socialcredit.policy.loader import Loaded

EXAMPLES = 8  # per operation, role and kind of input
ROLES = ("authority", "consumer", "subject", "admin", None)
PERSON = person_id(7)  # the subject key's principal, listed
SUBJECTS = (PERSON, person_id(8), person_id(9), org_id(3), "11010119500101001", "x")
"""Listed, listed, never filed, an organisation, then two that are not IDs."""
DATES = ("2025-01-10", "2026-06-01", "2026-06-02", "1949-10-01", "1949-09-30", "2199-12-31",
         "2025-02-30", "2025-1-1", "")  # fmt: skip
REFUSE = "court.dishonest_debtor.refuse_to_perform"
SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def live(
    tmp_path_factory: pytest.TempPathFactory,
    service_catalog: Loaded,
    request: pytest.FixtureRequest,
) -> Iterator[Live]:
    """One server per backend for the module, with a key per role and records to act on."""
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_server")
        name = f"t_{uuid.uuid4().hex[:16]}"
        with pg.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        request.addfinalizer(lambda: _drop(pg, name))
        url = pg.url(name)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('schema') / 'service.db'}"
    for live in serve(url, service_catalog):
        live.key("authority", "court", "authority")
        live.key("consumer", "transport", "consumer")
        live.key("subject", PERSON, "subject")
        live.key("admin", "ops", "admin")
        with live.client("authority") as c:
            for n, subject in enumerate((PERSON, person_id(8), PERSON)):
                r = c.post("/api/v1/records", json={
                    "subject": subject, "record_type": REFUSE, "decided_on": f"2025-0{n + 1}-10",
                    "decision_ref": f"(2025) Jing 0101 Zhi {n}", "client_key": f"seed-{n}",
                })  # fmt: skip
                assert r.status_code == 201, r.text
        yield live


def _drop(pg: Any, name: str) -> None:
    with pg.admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def schema(live: Live) -> Any:
    return schemathesis.openapi.from_url(f"{live.base}/openapi.json")


def _records(catalog: Loaded) -> st.SearchStrategy[dict[str, Any]]:
    """Record bodies that are mostly valid for the court, and otherwise wrong in a field or two."""
    court = sorted(t for t in catalog.index.record_types if t.startswith("court."))
    valid = st.fixed_dictionaries(
        {
            "subject": st.sampled_from(SUBJECTS[:4]),
            "record_type": st.sampled_from(court),
            "decided_on": st.sampled_from(("2025-01-10", "2026-06-01", "2020-02-29")),
            "decision_ref": st.text(min_size=1, max_size=40),
        },
        optional={"client_key": st.text(min_size=1, max_size=12)},
    )
    wrong = st.fixed_dictionaries(
        {
            "subject": st.sampled_from(SUBJECTS),
            "record_type": st.sampled_from([*sorted(catalog.index.record_types), "court.x"]),
            "decided_on": st.sampled_from(DATES) | st.text(max_size=10),
            "decision_ref": st.text(max_size=40),
        },
        optional={
            "counterpart": st.sampled_from([None, org_id(3), PERSON, "x"]),
            "client_key": st.text(max_size=12),
        },
    )
    return valid | wrong


def _strategies(operation: Any, headers: dict[str, str] | None, catalog: Loaded) -> Any:
    """``(strategy, examples, negative)``: schemathesis' valid and invalid inputs, then inputs
    made to reach past validation."""
    path = operation.path

    def made(**fixed: Any) -> st.SearchStrategy[Any]:
        return operation.as_strategy(generation_mode=GenerationMode.POSITIVE, headers=headers,
                                     **fixed)  # fmt: skip

    negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE, headers=headers)
    out = [(made(), EXAMPLES, False), (negative, EXAMPLES, True)]
    if "{record_id}" in path:
        ids = st.sampled_from(["1", "2", "3"])
        out.append((ids.flatmap(lambda rid: made(path_parameters={"record_id": rid})), EXAMPLES,
                    False))  # fmt: skip
    if "{subject}" in path:
        index = catalog.index.measures
        measures = sorted(index, key=lambda m: (index[m].domain != "transport", m))[:7]
        pairs = st.tuples(st.sampled_from(SUBJECTS[:4]), st.sampled_from(measures))
        checks = pairs.flatmap(
            lambda sm: made(path_parameters={"subject": sm[0], "measure": sm[1]})
        )
        out.append((checks, EXAMPLES * 2, False))
    if path.endswith("/records"):
        bodies = _records(catalog)
        out.append((bodies.flatmap(lambda body: made(body=body)), EXAMPLES * 2, False))
    if path.endswith("/records/batch"):
        batches = st.lists(_records(catalog), min_size=1, max_size=4)
        out.append((batches.flatmap(lambda rs: made(body={"records": rs})), EXAMPLES, False))
    return out


def _error_body(case: Any, response: Any) -> None:
    where = (case.method, case.formatted_path, response.status_code, response.text[:300])
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), where
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), where
    error = body["error"]
    assert {"field", "message"} <= set(error), where
    assert error["field"] is None or isinstance(error["field"], str), where
    assert isinstance(error["message"], str) and error["message"], where


@pytest.mark.parametrize("role", ROLES, ids=[r or "no-key" for r in ROLES])
def test_no_input_gives_a_server_error(
    live: Live, schema: Any, service_catalog: Loaded, role: str | None
) -> None:
    headers = {"authorization": f"Bearer {live.tokens[role]}"} if role else None
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        for strategy, examples, negative in _strategies(operation, headers, service_catalog):

            @settings(SETTINGS, max_examples=examples)
            @given(case=strategy)
            def fuzz(case: Any) -> None:
                response = case.call(base_url=live.base, timeout=30)
                case.validate_response(response, checks=[not_a_server_error])
                if 400 <= response.status_code < 500:
                    _error_body(case, response)

            try:
                fuzz()
            except Unsatisfiable:
                # an operation whose only input is the key, given: nothing left to make invalid
                if not negative:
                    raise


def test_text_with_nul_is_refused_before_any_store(live: Live) -> None:
    """PostgreSQL cannot store a NUL character: every text the API would store refuses one with
    a 422 naming the field, on every backend (a check's purpose goes to the audit log)."""
    record = {"subject": person_id(11), "record_type": REFUSE, "decided_on": "2025-03-01",
              "decision_ref": "a\x00b"}  # fmt: skip
    with live.client("authority") as c:
        r = c.post("/api/v1/records", json=record)
        assert r.status_code == 422 and r.json()["error"]["field"] == "decision_ref", r.text
        r = c.post("/api/v1/records/batch", json={"records": [{**record, "decision_ref": "ok",
                                                               "client_key": "\x00"}]})  # fmt: skip
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "records.0.client_key", r.text
        r = c.post("/api/v1/records/1/revocation", json={"reason": "\x00"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "reason", r.text
    with live.client("consumer") as c:
        r = c.get(f"/api/v1/checks/{PERSON}/restrict.flight", params={"purpose": "a\x00"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "purpose", r.text
    with live.client("subject") as c:
        r = c.post("/api/v1/me/records/1/objection", json={"grounds": "\x00"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "grounds", r.text


def test_a_body_that_is_not_json_is_named(live: Live) -> None:
    with live.client("authority") as c:
        r = c.post("/api/v1/records", content=b"{not json",
                   headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "body"
    assert r.json()["error"]["message"].startswith("not JSON")
