"""``socialcredit profile|check`` and the due-process commands ``objection`` and ``repair``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from socialcredit.cli.options import DbOpt, RefusedCatalogOpt
from socialcredit.policy.loader import Loaded
from socialcredit.registry import subjects, workflows
from socialcredit.registry.catalogs import (
    activate,
    in_force,
    in_force_with_retirements,
    not_in_force_note,
    refuse_catalog_option,
    reproject,
    retire,
    version_json,
)
from socialcredit.registry.config import parse_date, registry_catalog, registry_url
from socialcredit.registry.evaluate import Decision, Profile, Retirement, check, evaluate
from socialcredit.registry.ledger import Ledger

console = Console(highlight=False)


class Format(StrEnum):
    text = "text"
    json = "json"


CatalogOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--catalog",
        help="A dry run: evaluate under these catalogs (path or bundled id, repeat) instead "
        "of those in force, for this run only (the output says so).",
    ),
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Evaluate on this date (YYYY-MM-DD).")]
FormatOpt = Annotated[Format, typer.Option("--format", help="text or json.")]
OnOpt = Annotated[str | None, typer.Option("--on", help="Date of the step (default today).")]


def _today() -> date:
    return date.today()


@contextmanager
def _open(db: str | None) -> Iterator[Ledger]:
    ledger = Ledger.open(registry_url(db))
    try:
        yield ledger
    finally:
        ledger.close()


def _print_json(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def profile_cmd(
    subject: Annotated[str, typer.Argument(help="Resident ID or USCC.")],
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
    catalog: CatalogOpt = None,
    purpose: Annotated[
        str, typer.Option("--purpose", help="Why this profile is read (kept in the audit log).")
    ] = "subject access",
) -> None:
    """Everything the registry holds about a subject: scores, lists, measures, records, why."""
    subject_id, _kind = subjects.validate(subject)
    on = parse_date(as_of, field="as-of", default=_today())
    with _open(db) as ledger:
        retired: dict[str, Retirement] = {}
        if catalog:
            loaded = registry_catalog(catalog)
        else:
            loaded, retired = in_force_with_retirements(ledger, on)
        profile = evaluate(ledger.facts(subject_id), loaded, on, subject=subject_id,
                           retired=retired)  # fmt: skip
        ledger.log_access(actor="cli", action="profile", subject=subject_id, purpose=purpose)
    note = not_in_force_note(loaded) if catalog else None
    if fmt is Format.json:
        _print_json(profile.to_json() | ({"not_in_force": note} if note else {}))
    else:
        if note:
            console.print(note, markup=False, soft_wrap=True)
        _render_profile(profile, loaded)


def check_cmd(
    subject: Annotated[str, typer.Argument(help="Resident ID or USCC.")],
    measure: Annotated[str, typer.Argument(help="Measure id, e.g. restrict.flight.")],
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
    catalog: CatalogOpt = None,
    purpose: Annotated[str, typer.Option("--purpose", help="Why this check is made.")] = "check",
) -> None:
    """Is the subject allowed what MEASURE governs? All a consumer may see: allow or deny."""
    subject_id, _kind = subjects.validate(subject)
    on = parse_date(as_of, field="as-of", default=_today())
    with _open(db) as ledger:
        loaded = registry_catalog(catalog) if catalog else in_force(ledger, on)
        profile = evaluate(ledger.facts(subject_id), loaded, on, subject=subject_id)
        decision = check(profile, measure, loaded)
        ledger.log_access(
            actor="cli", action=f"check {measure}", subject=subject_id, purpose=purpose
        )
    note = not_in_force_note(loaded) if catalog else None
    if fmt is Format.json:
        _print_json(decision.to_json() | ({"not_in_force": note} if note else {}))
    else:
        if note:
            console.print(note, markup=False, soft_wrap=True)
        _render_decision(decision)


def _render_decision(d: Decision) -> None:
    colour = "green" if d.decision == "allow" else "red"
    until = f" until {d.until}" if d.until else ""
    console.print(f"[bold {colour}]{d.decision}[/] {d.measure}{until}")
    for r in d.reasons:
        console.print("  " + ", ".join(f"{k}={v}" for k, v in r.items()))


def _render_profile(p: Profile, loaded: Loaded) -> None:
    idx = loaded.index
    console.print(f"[bold]{p.subject}[/] as of {p.as_of}")
    if p.empty:
        console.print("No records: nothing held about this subject.")
        return
    if p.schemes:
        t = Table(title="Scores")
        for col in ("scheme", "score", "grade"):
            t.add_column(col)
        for s in p.schemes.values():
            grade = s.grade or ("exhausted" if s.exhausted else "")
            t.add_row(idx.schemes[s.scheme].title, f"{s.score:g}", grade)
        console.print(t)
    if p.lists:
        t = Table(title="Lists")
        for col in ("list", "since", "until", "because of records", "ways off"):
            t.add_column(col)
        for m in p.lists:
            t.add_row(
                idx.lists[m.list].title,
                str(m.since),
                str(m.until or ("while the score stays" if m.scheme else "the condition ends")),
                ", ".join(m.records),
                ", ".join(m.removal),
            )
        console.print(t)
    if p.measures:
        t = Table(title="Measures in force")
        for col in ("measure", "because", "until"):
            t.add_column(col)
        for a in p.measures:
            if a.list:
                because = f"{a.memorandum} <- {a.list} <- records {', '.join(a.records)}"
                if a.via_role:
                    because += f" (as {a.via_role} of {a.via_subject})"
            else:
                because = f"score {a.scheme} at or above the threshold"
            t.add_row(idx.measures[a.measure].title, because, str(a.until or "-"))
        console.print(t)
    t = Table(title="Records")
    for col in (
        "id",
        "type",
        "decided",
        "status",
        "published until",
        "repairable from",
        "legal basis",
    ):
        t.add_column(col)
    for r in p.records:
        rt = idx.record_types.get(r.record.record_type)
        status = r.status + (f", objection {r.objection}" if r.objection else "")
        status += f", repair {r.repair}" if r.repair else ""
        for by in (r.objection_decide_by, r.repair_decide_by):
            if by is not None:
                status += f" (decide by {by}{', OVERDUE' if p.as_of > by else ''})"
        t.add_row(
            r.record.id,
            r.record.record_type,
            str(r.record.decided_on),
            status,
            str(r.published_until or "not published"),
            str(r.repairable_from or "-"),
            rt.legal_basis if rt else "",
        )
    console.print(t)
    for r in p.records:
        if r.retired is not None:
            console.print(f"record {r.record.id} ({r.record.record_type}): {r.retired.why()}; "
                          "it has no effect from that day", markup=False,
                          soft_wrap=True)  # fmt: skip


# -------------------------------------------------------------------------- due process

objection_app = typer.Typer(
    help="Objections to records: filed by the subject.", no_args_is_help=True
)
repair_app = typer.Typer(help="Credit repair: applied for by the subject.", no_args_is_help=True)
release_app = typer.Typer(
    help="Releases the catalogs define for a role holder (e.g. a replaced legal representative "
    "of a unit on a list): applied for by the person, decided by the release's authority.",
    no_args_is_help=True,
)


def _pending_out(p: workflows.Pending, fmt: Format) -> None:
    data = {
        "record": p.record_id,
        "kind": p.kind,
        "filed_on": p.filed_on.isoformat(),
        "decide_by": p.decide_by.isoformat(),
        "authority": p.authority,
    }
    if fmt is Format.json:
        _print_json(data)
    else:
        console.print(
            f"{p.kind} on record {p.record_id} filed {p.filed_on}; "
            f"{p.authority} must decide by {p.decide_by}"
        )


def _event_out(ev: Any, fmt: Format) -> None:
    data = {"record": ev.record_id, "event": ev.kind.value, "on": ev.on.isoformat(), "by": ev.actor}
    if fmt is Format.json:
        _print_json(data)
    else:
        console.print(f"record {ev.record_id}: {ev.kind.value.replace('_', ' ')} on {ev.on}")


_T = TypeVar("_T")


def _due_process_step(
    command: str,
    db: str | None,
    catalog: list[str] | None,
    on: str | None,
    step: Callable[[Ledger, Loaded, date, date], _T],
) -> _T:
    """One step of an objection or a repair: ``--catalog`` refused (it writes), the step's day
    (``--on``, default today) checked, then ``step(ledger, catalogs in force today, day,
    today)`` on the registry."""
    refuse_catalog_option(catalog, command=command)
    today = _today()
    day = parse_date(on, field="on", default=today)
    with _open(db) as ledger:
        return step(ledger, in_force(ledger, today), day, today)


@objection_app.command("file")
def objection_file(
    record: Annotated[str, typer.Argument(help="Record id.")],
    by: Annotated[str, typer.Option("--by", help="The subject's ID (only they may object).")],
    grounds: Annotated[str, typer.Option("--grounds", help="Why the record is wrong.")],
    on: OnOpt = None,
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
    catalog: RefusedCatalogOpt = None,
) -> None:
    """File an objection to a record."""
    subject_id, _ = subjects.validate(by, field="by")
    pending = _due_process_step(
        "objection file", db, catalog, on,
        lambda ledger, loaded, day, today: workflows.file_objection(
            ledger, loaded, record, by=subject_id, grounds=grounds, on=day, today=today
        ),
    )  # fmt: skip
    _pending_out(pending, fmt)


@objection_app.command("decide")
def objection_decide(
    record: Annotated[str, typer.Argument(help="Record id.")],
    authority: Annotated[str, typer.Option("--authority", help="The designating authority.")],
    uphold: Annotated[
        bool, typer.Option("--uphold/--reject", help="Uphold (void the record) or reject.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="The decision's reasons.")],
    on: OnOpt = None,
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
    catalog: RefusedCatalogOpt = None,
) -> None:
    """Decide an objection (the authority that designated the record)."""
    ev = _due_process_step(
        "objection decide", db, catalog, on,
        lambda ledger, loaded, day, today: workflows.decide_objection(
            ledger, loaded, record, authority=authority, upheld=uphold, reason=reason, on=day,
            today=today,
        ),
    )  # fmt: skip
    _event_out(ev, fmt)


@repair_app.command("apply")
def repair_apply(
    record: Annotated[str, typer.Argument(help="Record id.")],
    by: Annotated[str, typer.Option("--by", help="The subject's ID.")],
    commitment: Annotated[
        bool, typer.Option("--commitment", help="Give the public credit commitment.")
    ] = False,
    on: OnOpt = None,
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
    catalog: RefusedCatalogOpt = None,
) -> None:
    """Apply for credit repair of a record (after its minimum publication period)."""
    subject_id, _ = subjects.validate(by, field="by")
    pending = _due_process_step(
        "repair apply", db, catalog, on,
        lambda ledger, loaded, day, today: workflows.apply_repair(
            ledger, loaded, record, by=subject_id, commitment=commitment, on=day, today=today
        ),
    )  # fmt: skip
    _pending_out(pending, fmt)


@repair_app.command("decide")
def repair_decide(
    record: Annotated[str, typer.Argument(help="Record id.")],
    authority: Annotated[str, typer.Option("--authority", help="The designating authority.")],
    grant: Annotated[bool, typer.Option("--grant/--refuse", help="Grant or refuse the repair.")],
    reason: Annotated[str, typer.Option("--reason", help="The decision's reasons.")],
    on: OnOpt = None,
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
    catalog: RefusedCatalogOpt = None,
) -> None:
    """Decide a repair application (the authority that designated the record)."""
    ev = _due_process_step(
        "repair decide", db, catalog, on,
        lambda ledger, loaded, day, today: workflows.decide_repair(
            ledger, loaded, record, authority=authority, granted=grant, reason=reason, on=day,
            today=today,
        ),
    )  # fmt: skip
    _event_out(ev, fmt)


@release_app.command("apply")
def release_apply(
    release: Annotated[str, typer.Argument(help="The catalog's release id.")],
    by: Annotated[str, typer.Option("--by", help="The applicant's ID.")],
    organisation: Annotated[
        str, typer.Option("--organisation", help="The unit whose measures reach the applicant.")
    ],
    reference: Annotated[str, typer.Option("--reference", help="The application's case number.")],
    on: OnOpt = None,
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
    catalog: RefusedCatalogOpt = None,
) -> None:
    """Apply for a release from what reaches you through a role in an organisation."""
    subject_id, _ = subjects.validate(by, field="by")
    unit, _ = subjects.validate(organisation, field="organisation")
    pending = _due_process_step(
        "release apply", db, catalog, on,
        lambda ledger, loaded, day, today: workflows.apply_for_release(
            ledger, loaded, release, by=subject_id, organisation=unit, reference=reference,
            on=day, today=today,
        ),
    )  # fmt: skip
    _pending_out(pending, fmt)


@release_app.command("decide")
def release_decide(
    application: Annotated[str, typer.Argument(help="The application's record id.")],
    authority: Annotated[str, typer.Option("--authority", help="The release's authority.")],
    grant: Annotated[bool, typer.Option("--grant/--refuse", help="Grant or refuse the release.")],
    reason: Annotated[str, typer.Option("--reason", help="The decision's number.")],
    on: OnOpt = None,
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
    catalog: RefusedCatalogOpt = None,
) -> None:
    """Decide an application for a release (the release's authority); the decision is a
    record of its own."""
    rec = _due_process_step(
        "release decide", db, catalog, on,
        lambda ledger, loaded, day, today: workflows.decide_release(
            ledger, loaded, application, authority=authority, granted=grant, reason=reason,
            on=day, today=today,
        ),
    )  # fmt: skip
    data = {"record": rec.id, "record_type": rec.record_type, "decided_on": str(rec.decided_on)}
    if fmt is Format.json:
        _print_json(data)
    else:
        console.print(f"release {'granted' if grant else 'refused'}: record {rec.id} "
                      f"({rec.record_type}) on {rec.decided_on}", markup=False)  # fmt: skip


def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where the demo writes its files.")] = Path(
        "out/demo"
    ),
    population: Annotated[
        int, typer.Option("--population", min=1000, help="Synthetic people in the study.")
    ] = 1_000_000,
    seeds: Annotated[int, typer.Option("--seeds", min=1, max=20, help="Seeds per regime.")] = 3,
    people: Annotated[int, typer.Option("--people", min=10, help="Residents of the city.")] = 3000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the city.")] = 7,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after writing the files.")
    ] = False,
    host: Annotated[str, typer.Option("--host", help="Portal address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Portal port.")] = 8000,
) -> None:
    """The main job: the shipped regimes side by side (out/demo/report.html), then a synthetic
    city through the real registry path, served with the portal and a login for each role."""
    import shutil

    from socialcredit import demo
    from socialcredit.cli.study import run_all
    from socialcredit.study import report
    from socialcredit.study.spec import load_study

    # 1. the study: every shipped regime over one world (the same people under each)
    spec = load_study("demo").model_copy(
        update={"population": population, "seeds": tuple(range(1, seeds + 1))}
    )
    console.rule(
        f"1. {len(spec.runs)} regimes over one world, {population:,} people, {seeds} seeds"
    )
    run_all(spec, out / "study")
    page = report.render(out / "study")
    shutil.copyfile(page, out / "report.html")
    console.print(f"report: {out / 'report.html'}")

    # 2. a synthetic city through the registry, and a key for each role
    console.rule("2. a synthetic city through the registry")
    result = demo.run(out, people=people, seed=seed, console=console)
    logins = _demo_keys(result.db, result.sample_person)
    (out / "logins.txt").write_text("".join(f"{role}: {token}\n" for role, token in logins.items()))
    console.print(f"Registry: {result.db}; summary: {out / 'summary.json'}")
    console.print(
        f"Try: socialcredit profile {result.sample_person} --db {result.db}\n"
        f"     socialcredit check {result.sample_person} restrict.flight --db {result.db}"
    )
    console.print(f"Logins (also in {out / 'logins.txt'}):")
    for role, token in logins.items():
        console.print(f"  {role}: {token}", soft_wrap=True)
    if no_serve:
        return

    # 3. the portal over that registry
    from socialcredit.service import server
    from socialcredit.service.app import create_app

    ledger = Ledger.open(f"sqlite:///{result.db}")
    day = date.fromisoformat(result.summary["as_of"])
    app = create_app(ledger, registry_catalog(), today=lambda: day, studies=out)
    console.rule(f"3. portal: http://{host}:{port}/  (OpenAPI: http://{host}:{port}/openapi.json)")
    console.print("Ctrl-C stops it.")
    server.run(app, host=host, port=port)


def _demo_keys(db: Path, person: str) -> dict[str, str]:
    """A key for each role over the demo's registry."""
    ledger = Ledger.open(f"sqlite:///{db}")
    try:
        made = {
            f"subject {person}": ledger.create_key(
                role="subject", principal=person, label="demo resident", actor="demo"
            ),
            "authority court": ledger.create_key(
                role="authority", principal="court", label="demo court", actor="demo"
            ),
            "consumer transport (airline)": ledger.create_key(
                role="consumer", principal="transport", label="demo airline", actor="demo"
            ),
            "admin": ledger.create_key(
                role="admin", principal="demo-admin", label="demo admin", actor="demo"
            ),
        }
    finally:
        ledger.close()
    return made


def access_log_cmd(
    subject: Annotated[str, typer.Argument(help="Resident ID or USCC.")],
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
) -> None:
    """Every access to and change of a subject's data: who, when, what, and for what purpose.

    ``#`` (``seq``) is the entry's place in the audit chain; a read answered a moment ago may
    not have one yet (its entry is durable in the read journal, chained shortly): ``-``
    (``null``)."""
    subject_id, _kind = subjects.validate(subject)
    with _open(db) as ledger:
        entries = ledger.access_log(subject_id)
        ledger.log_access(
            actor="cli", action="access-log", subject=subject_id, purpose="subject access"
        )
    if fmt is Format.json:
        _print_json(
            [
                {
                    "seq": e.seq or None,  # a read still in the journal: not in the chain yet
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "purpose": e.purpose,
                }
                for e in entries
            ]
        )
        return
    t = Table(title=f"Access log of {subject_id}")
    for col in ("#", "when (UTC)", "who", "what", "purpose"):
        t.add_column(col)
    for e in entries:
        # as plain text: a purpose is what a caller wrote, never markup to interpret
        t.add_row(str(e.seq) if e.seq else "-", f"{e.at:%Y-%m-%d %H:%M:%S}", Text(e.actor),
                  Text(e.action), Text(e.purpose))  # fmt: skip
    console.print(t)


def register(app: typer.Typer) -> None:
    """Add the registry commands to the root app."""
    app.command("demo")(demo_cmd)
    app.command("profile")(profile_cmd)
    app.command("check")(check_cmd)
    app.command("access-log")(access_log_cmd)
    app.add_typer(objection_app, name="objection")
    app.add_typer(repair_app, name="repair")
    app.add_typer(release_app, name="release")


# -- catalogs in force -------------------------------------------------------------------------

catalog_app = typer.Typer(
    help="The catalogs in force, stored in the registry: every command, the API and the "
    "portal run them.",
    no_args_is_help=True,
)


@catalog_app.command("activate")
def catalog_activate(
    ref: Annotated[str, typer.Argument(help="A catalog file, or a bundled catalog's id.")],
    from_: Annotated[str, typer.Option("--from", help="In force from this day (YYYY-MM-DD).")],
    actor: Annotated[str, typer.Option("--actor", help="Who activates it (audited).")] = "cli",
    db: DbOpt = None,
) -> None:
    """Put a catalog in force from a day (refused if the checker finds an error in it)."""
    day = parse_date(from_, field="from")
    with _open(db) as ledger:
        v = activate(ledger, ref, on=day, actor=actor)
        typer.echo(f"catalog {v.catalog_id} version {v.version} in force from "
                   f"{v.in_force_from} (id {v.id}, sha256 {v.content_hash[:12]})")  # fmt: skip
        _reprojected(ledger, actor)


def _reprojected(ledger: Ledger, actor: str) -> None:
    """Every subject's projection recomputed with the catalogs in force today (a running
    server reloads those subjects, and runs the new catalogs for new filings within a second
    or two: :meth:`socialcredit.service.registry.Registry.follow_catalogs`)."""
    n = reproject(ledger, on=_today(), actor=actor)
    typer.echo(f"projection recomputed for {n} subject(s) with the catalogs in force today")


@catalog_app.command("retire")
def catalog_retire(
    version_id: Annotated[int, typer.Argument(help="The id `catalog list` shows.")],
    from_: Annotated[str, typer.Option("--from", help="Not in force from this day.")],
    actor: Annotated[str, typer.Option("--actor", help="Who retires it (audited).")] = "cli",
    db: DbOpt = None,
) -> None:
    """Retire a catalog version from a day."""
    day = parse_date(from_, field="from")
    with _open(db) as ledger:
        v = retire(ledger, version_id, on=day, actor=actor)
        typer.echo(f"catalog {v.catalog_id} version {v.version} (id {v.id}) retired from "
                   f"{v.retired_from}")  # fmt: skip
        if any(x.in_force(_today()) for x in ledger.catalog_versions()):
            _reprojected(ledger, actor)
        else:
            typer.echo("no catalog is in force today: the projection is left as it was until "
                       "one is activated")  # fmt: skip


def _versions_table(title: str, versions: list[Any]) -> Table:
    t = Table(title=title)
    for col in ("id", "catalog", "version", "source", "in force from", "retired from", "sha256"):
        t.add_column(col)
    for v in versions:
        retired = str(v.retired_from or "-")
        t.add_row(str(v.id), Text(v.catalog_id), Text(v.version), Text(v.source),
                  str(v.in_force_from), retired, v.content_hash[:12])  # fmt: skip
    return t


@catalog_app.command("list")
def catalog_list(
    on: Annotated[
        str | None, typer.Option("--on", help="In force on this day (default today).")
    ] = None,
    fmt: FormatOpt = Format.text,
    db: DbOpt = None,
) -> None:
    """The catalog versions in force on a day."""
    day = parse_date(on, field="on", default=_today())
    with _open(db) as ledger:
        versions = [v for v in ledger.catalog_versions() if v.in_force(day)]
    if fmt is Format.json:
        _print_json([version_json(v) for v in versions])
        return
    console.print(_versions_table(f"Catalogs in force on {day}", versions))


@catalog_app.command("history")
def catalog_history(fmt: FormatOpt = Format.text, db: DbOpt = None) -> None:
    """Every catalog version ever activated, and when it was retired, with who did it."""
    with _open(db) as ledger:
        versions = ledger.catalog_versions()
    if fmt is Format.json:
        _print_json([version_json(v) for v in versions])
        return
    console.print(_versions_table("Catalog history", versions))
