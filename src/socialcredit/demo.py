"""``socialcredit demo``: a synthetic city through the real registry path.

1. Checks every bundled catalog against the guardrails (the unified score is refused).
2. Creates a fresh embedded registry and has each authority file its records for a synthetic
   city through :meth:`Ledger.submit` (validation, mandates, idempotency, projections).
3. Runs due process: subjects object (the designating authority upholds or rejects), debtors
   perform, subjects apply for repair after the minimum period, authorities decide.
4. Evaluates everyone (compiled batch evaluation) and writes ``summary.json``; shows one
   subject's profile and a consumer's check.

Everything here is synthetic, and the registry says so: it is marked synthetic in its database
(:mod:`socialcredit.registry.marks`) before the first record is filed, and a server over it
says so on every page and response. Its identifiers are valid in form but no real person's or
organisation's: every one carries the address code of a county whose code was withdrawn before
any number that carries an address code was issued (:data:`RETIRED_COUNTY`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from socialcredit.identifiers import RETIRED_COUNTY, organisation_code, resident_id
from socialcredit.policy.checker import Profile as LegalProfile
from socialcredit.policy.checker import Severity, check_paths
from socialcredit.policy.loader import Loaded, bundled
from socialcredit.registry import marks, workflows
from socialcredit.registry.batch import columns_from_facts, evaluate_columns
from socialcredit.registry.config import registry_catalog
from socialcredit.registry.dates import add_months, add_working_days
from socialcredit.registry.evaluate import check, evaluate
from socialcredit.registry.ledger import Ledger, NewRecord
from socialcredit.registry.ledger.journal import READS_SUFFIX
from socialcredit.registry.model import Fact, Record

BORN_FROM = date(1935, 1, 1)
BORN_UNTIL = date(1981, 12, 31)
SYNTHETIC_NOTE = (
    "this registry was made by `socialcredit demo`: every person, organisation, record and "
    "decision in it is made up. Its ID numbers carry the code of a county withdrawn in 1981 "
    "(332121), which no real identity card or credit code carries."
)


@dataclass(frozen=True)
class DemoResult:
    db: Path
    summary: dict[str, Any]
    sample_person: str


def run(
    out: Path,
    *,
    people: int = 3000,
    organisations: int = 200,
    seed: int = 7,
    today: date | None = None,
    console: Console | None = None,
) -> DemoResult:
    console = console or Console()
    today = today or date.today()
    rnd = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)

    # 1. the guardrails over every bundled catalog
    table = Table(title="Bundled catalogs under the guardrail checker (profile cn-2021)")
    for col in ("catalog", "kept", "errors", "warnings"):
        table.add_column(col)
    for b in bundled():
        findings = check_paths([str(b.path)], profile=LegalProfile.cn_2021)
        errors = sum(f.severity is Severity.error for f in findings)
        warnings = sum(f.severity is Severity.warning for f in findings)
        kept = "synthetic only (refused)" if b.synthetic else "admissible"
        table.add_row(b.id, kept, str(errors), str(warnings))
    console.print(table)

    # 2. a fresh registry and the city's records
    db = out / "registry.db"
    for base in ("", READS_SUFFIX):  # the ledger and its read journal (ledger/journal.py)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{base}{suffix}").unlink(missing_ok=True)
    loaded = registry_catalog()
    ledger = Ledger.open(f"sqlite:///{db}")
    try:
        ledger.init()
        marks.mark_synthetic(ledger, by="demo", note=SYNTHETIC_NOTE)
        # born while the retired county's code was in force, so adults on every record's date
        # (the court list never lists a minor, and the registry refuses such a filing)
        span = (BORN_UNTIL - BORN_FROM).days + 1
        persons = [
            resident_id(RETIRED_COUNTY, BORN_FROM + timedelta(days=rnd.randrange(span)), i)
            for i in range(people)
        ]
        orgs = [organisation_code(RETIRED_COUNTY, 10_000_000 + i) for i in range(organisations)]
        batches = _city_records(loaded, persons, orgs, rnd, today)
        ids: list[tuple[NewRecord, str]] = []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(
                "authorities filing records", total=sum(map(len, batches.values()))
            )
            for authority, records in sorted(batches.items()):
                for start in range(0, len(records), 500):
                    chunk = records[start : start + 500]
                    results = ledger.submit(chunk, catalog=loaded, today=today, actor=authority)
                    ids += [(r, res.id) for r, res in zip(chunk, results, strict=True)]
                    progress.advance(task, len(chunk))
        process = _due_process(ledger, loaded, ids, rnd, today)

        # 3. everyone evaluated at once
        subjects = sorted({r.subject for r, _ in ids})
        histories: list[list[Fact]] = [ledger.facts(s) for s in subjects]
        own = [
            [f for f in h if not isinstance(f, Record) or f.subject == s]
            for s, h in zip(subjects, histories, strict=True)
        ]
        result = evaluate_columns(columns_from_facts(own, loaded), loaded, today)
        list_sizes = {
            lid: int(np.count_nonzero(result.m_list == i))
            for i, lid in enumerate(result.compiled.list_ids)
        }
        holders: dict[str, set[int]] = {}
        for m, i in zip(result.x_measure.tolist(), result.x_subject.tolist(), strict=True):
            holders.setdefault(m, set()).add(i)
        measure_counts = {m: len(who) for m, who in holders.items()}  # subjects, not memoranda
        summary = {
            "as_of": today.isoformat(),
            "subjects": len(subjects),
            "records": ledger.count_records(),
            "due_process": process,
            "lists": {k: v for k, v in sorted(list_sizes.items()) if v},
            "measures": dict(sorted(measure_counts.items())),
            "audit_chain_intact": ledger.verify_audit(),
            "synthetic": marks.synthetic_note(ledger),
        }
        (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))

        person_set = set(persons)
        banned = sorted(holders.get("restrict.flight", set()))
        listed = [subjects[i] for i in banned if subjects[i] in person_set] or [
            subjects[i] for i in np.unique(result.m_subject).tolist() if subjects[i] in person_set
        ]
        sample = listed[0] if listed else persons[0]
        profile = evaluate(ledger.facts(sample), loaded, today, subject=sample)
        decision = check(profile, "restrict.flight", loaded)
        ledger.log_access(actor="demo", action="profile", subject=sample, purpose="demonstration")
    finally:
        ledger.close()

    t = Table(title=f"The synthetic city on {today}")
    t.add_column("what")
    t.add_column("how many", justify="right")
    t.add_row("subjects", str(summary["subjects"]))
    t.add_row("records filed", str(summary["records"]))
    for k, v in process.items():
        t.add_row(k.replace("_", " "), str(v))
    for k, v in sorted(list_sizes.items()):
        if v:
            t.add_row(f"on list {k}", str(v))
    for k in ("restrict.flight", "restrict.g_train"):
        t.add_row(f"measure {k} in force", str(measure_counts.get(k, 0)))
    console.print(t)
    console.print(f"[bold]Synthetic data[/]: {SYNTHETIC_NOTE}", markup=True, highlight=False)
    console.print(
        f"Sample subject {sample}: check restrict.flight -> [bold]{decision.decision}[/]"
        + (f" until {decision.until}" if decision.until else "")
    )
    return DemoResult(db=db, summary=summary, sample_person=sample)


def _city_records(
    loaded: Loaded, persons: list[str], orgs: list[str], rnd: random.Random, today: date
) -> dict[str, list[NewRecord]]:
    """Who files what: each record type's first issuer files it, on subjects of the kinds the
    type allows, on dates in the last three years."""
    idx = loaded.index
    batches: dict[str, list[NewRecord]] = {}
    serial = 0

    def file(code: str, subject: str, days_ago: int, counterpart: str | None = None) -> None:
        nonlocal serial
        rt = idx.record_types[code]
        authority = rt.issuers[0]
        serial += 1
        batches.setdefault(authority, []).append(
            NewRecord(
                subject=subject,
                record_type=code,
                authority=authority,
                decided_on=today - timedelta(days=days_ago),
                decision_ref=f"{authority}-{serial:06d}",
                counterpart=counterpart,
                client_key=f"demo-{serial}",
            )
        )

    role_types = [rt.code for rt in idx.catalog.record_types if rt.role is not None]
    # conduct only: not roles, nor the steps of a release (role records that link no one)
    scored = [rt for rt in idx.catalog.record_types
              if rt.nature.value != "role" and rt.issuers]  # fmt: skip
    for org in orgs:
        if role_types:
            file(role_types[0], rnd.choice(persons), rnd.randrange(400, 1500), counterpart=org)
    options = {
        kind: [rt for rt in scored if kind in rt.subject_kinds]
        for kind in ("person", "organisation")
    }
    for kind, group in (("person", persons), ("organisation", orgs)):
        for subject in group:
            for _ in range(min(6, int(rnd.expovariate(1.0)))):
                file(rnd.choice(options[kind]).code, subject, rnd.randrange(1, 1100))
    return batches


def _due_process(
    ledger: Ledger,
    loaded: Loaded,
    ids: list[tuple[NewRecord, str]],
    rnd: random.Random,
    today: date,
) -> dict[str, int]:
    counts = {"objections_filed": 0, "objections_upheld": 0, "fulfilled": 0, "repairs_granted": 0}
    idx = loaded.index
    for new, rid in ids:
        rt = idx.record_types[new.record_type]
        if rt.role is not None:
            continue
        age = (today - new.decided_on).days
        if rnd.random() < 0.03 and age > 10:
            filed_on = new.decided_on + timedelta(days=rnd.randrange(1, min(age, 60)))
            workflows.file_objection(
                ledger,
                loaded,
                rid,
                by=new.subject,
                grounds="the decision names the wrong person",
                on=filed_on,
                today=today,
            )
            counts["objections_filed"] += 1
            upheld = rnd.random() < 0.4
            decided_on = min(today, filed_on + timedelta(days=rnd.randrange(1, 20)))
            workflows.decide_objection(
                ledger,
                loaded,
                rid,
                authority=new.authority,
                upheld=upheld,
                reason="identity checked against the case file",
                on=decided_on,
                today=today,
            )
            counts["objections_upheld"] += upheld
            continue
        if rt.nature.value == "default" and rnd.random() < 0.35 and age > 30:
            performed = new.decided_on + timedelta(days=rnd.randrange(1, age))
            workflows.record_fulfilment(
                ledger, loaded, rid, authority=new.authority, on=performed, today=today
            )
            counts["fulfilled"] += 1
            repairable = add_months(new.decided_on, rt.publication.min_months)
            applied = max(repairable, performed)
            decided = min(today, add_working_days(applied, 3))
            # the record must still be repairable when the authority decides, not only when
            # the subject applies (its effect may end in between)
            if (
                applied < today
                and workflows.can_repair(ledger, loaded, rid, applied)
                and workflows.can_repair(ledger, loaded, rid, decided)
                and rnd.random() < 0.5
            ):
                workflows.apply_repair(
                    ledger, loaded, rid, by=new.subject, commitment=True, on=applied, today=today
                )
                workflows.decide_repair(
                    ledger,
                    loaded,
                    rid,
                    authority=new.authority,
                    granted=True,
                    reason="obligation performed, commitment given",
                    on=decided,
                    today=today,
                )
                counts["repairs_granted"] += 1
    return counts
