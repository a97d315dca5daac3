"""``socialcredit policy check|list|show``: thin commands over :mod:`socialcredit.policy`."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from socialcredit.policy.checker import Finding, Profile, Severity, check_paths, counts
from socialcredit.policy.loader import Loaded, bundled, load
from socialcredit.policy.schema import LicenceScheme, PointsScheme, Scheme, WeightedScheme

app = typer.Typer(
    help="Catalogs: check them against the guardrails, list and show them.",
    no_args_is_help=True,
)


def _console() -> Console:
    """Rich output; tables need room, so output that is not a terminal is 140 columns wide."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


console = _console()


class Format(StrEnum):
    text = "text"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help="text or json.")]
ProfileOpt = Annotated[
    Profile,
    typer.Option("--profile", help="Legal profile for cross-domain measures (SC009)."),
]


def _print_json(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


@app.command("check")
def check_cmd(
    paths: Annotated[
        list[str], typer.Argument(help="Catalog files or bundled catalog ids (merged).")
    ],
    profile: ProfileOpt = Profile.cn_2021,
    fmt: FormatOpt = Format.text,
    deny_warnings: Annotated[
        bool, typer.Option("--deny-warnings", help="Exit 1 on warnings too.")
    ] = False,
) -> None:
    """Check catalogs against the guardrails (codes SC000-SC024, see docs/guardrails.md).

    Exits 1 if there is any error (or any warning with --deny-warnings), 0 otherwise.
    """
    findings = check_paths(paths, profile=profile)
    errors, warnings = counts(findings)
    if fmt is Format.json:
        _print_json(
            {
                "findings": [f.as_dict() for f in findings],
                "errors": errors,
                "warnings": warnings,
            }
        )
    else:
        _render_findings(findings)
        verdict = (
            "[bold red]refused[/]"
            if errors
            else ("[yellow]admissible, with warnings[/]" if warnings else "[green]admissible[/]")
        )
        console.print(
            f"{escape(', '.join(paths))} under {profile.value}: {verdict}: "
            f"{errors} error(s), {warnings} warning(s)"
        )
    if errors or (deny_warnings and warnings):
        raise typer.Exit(1)


def _render_findings(findings: list[Finding]) -> None:
    for f in findings:
        style = "bold red" if f.severity is Severity.error else "yellow"
        console.print(
            f"[{style}]{f.code} {f.severity.value:<7}[/] {escape(f.location)}\n"
            f"    {escape(f.message)}"
        )
        if f.help:
            console.print(f"    [dim]help: {escape(f.help)}[/]")


@app.command("list")
def list_cmd(fmt: FormatOpt = Format.text) -> None:
    """The bundled catalogs, with their findings under cn-2021."""
    rows: list[dict[str, Any]] = []
    for b in bundled():
        errors, warnings = counts(check_paths([b.path], profile=Profile.cn_2021))
        rows.append(
            {
                "id": b.id,
                "title": b.meta.title,
                "version": b.meta.version,
                "synthetic": b.synthetic,
                "extends": list(b.meta.extends),
                "errors": errors,
                "warnings": warnings,
            }
        )
    if fmt is Format.json:
        _print_json({"catalogs": rows})
        return
    table = Table(title="Bundled catalogs (findings under cn-2021)")
    for col in ("id", "title", "version", "kind", "extends", "errors", "warnings"):
        table.add_column(col, no_wrap=col == "id", min_width=20 if col == "title" else None)
    for r in rows:
        table.add_row(
            str(r["id"]),
            escape(str(r["title"])),
            str(r["version"]),
            "[magenta]synthetic[/]" if r["synthetic"] else "admissible",
            ", ".join(r["extends"]),
            f"[red]{r['errors']}[/]" if r["errors"] else "0",
            str(r["warnings"]),
        )
    console.print(table)


@app.command("show")
def show_cmd(
    catalog: Annotated[str, typer.Argument(help="Catalog file or bundled catalog id.")],
    fmt: FormatOpt = Format.text,
) -> None:
    """Show a catalog (merged with what it extends): sources, authorities and their kinds,
    record types, schemes, lists, memoranda, and the reviewed exemptions from label screening
    (who reviewed each, when and why)."""
    loaded = load(catalog)
    if fmt is Format.json:
        _print_json(loaded.catalog.model_dump(mode="json"))
        return
    _render_catalog(loaded)


def _render_catalog(loaded: Loaded) -> None:
    cat = loaded.catalog
    meta = cat.catalog
    kind = "synthetic (refused by the checker; simulator only)" if meta.synthetic else "catalog"
    console.print(f"[bold]{escape(meta.title)}[/] ({meta.id} {meta.version}, {kind})")
    if meta.description:
        console.print(escape(meta.description))
    if meta.extends:
        console.print(f"extends: {', '.join(meta.extends)}")
    files = ", ".join(p.name for p in loaded.files)
    console.print(f"files: {escape(files)}")
    if meta.sources:
        console.print("sources:")
        for s in meta.sources:
            console.print(f"  - {escape(s)}")

    if cat.authorities:
        t = Table(title="Authorities")
        for col in ("id", "title", "kind", "jurisdiction", "may issue"):
            t.add_column(col)
        mandate = loaded.index.mandate
        for a in cat.authorities:
            t.add_row(
                a.id,
                escape(a.title),
                a.kind.value.replace("_", " ") if a.kind else "[yellow](no kind)[/]",
                a.jurisdiction,
                str(len(mandate.get(a.id, ()))),
            )
        console.print(t)

    if cat.record_types:
        t = Table(title="Record types")
        for col in ("code", "severity", "nature", "domain", "legal basis", "window", "issuers"):
            t.add_column(col, no_wrap=col == "code")
        for rt in cat.record_types:
            pub = rt.publication
            shown = (
                f"published {pub.min_months}..{pub.max_months} mo"
                if pub.published
                else "not published"
            )
            effect = pub.effect
            window = f"{shown}; effect {effect if effect is not None else 'forever'} mo"
            t.add_row(
                rt.code,
                rt.severity.value,
                rt.nature.value,
                rt.domain,
                escape(rt.legal_basis) or "[red](none)[/]",
                window,
                ", ".join(rt.issuers),
            )
        console.print(t)

    for scheme in cat.schemes:
        console.print(_scheme_tree(scheme))

    if cat.lists:
        t = Table(title="Lists")
        for col in ("id", "kind", "entry", "duration", "ways off", "authority", "legal basis"):
            t.add_column(col, no_wrap=col == "id")
        for lst in cat.lists:
            e = lst.entry
            if e.scheme is not None:
                cond = (
                    f"grades {', '.join(e.grades)}"
                    if e.grades
                    else "exhausted"
                    if e.exhausted
                    else f"score < {e.score_below:g}"
                    if e.score_below is not None
                    else f"score >= {e.score_at_least:g}"
                    if e.score_at_least is not None
                    else ""
                )
                entry = f"{e.scheme}: {cond}"
            else:
                entry = ", ".join(e.record_types)
                if e.min_count > 1:
                    entry += f" (x{e.min_count}"
                    entry += f" within {e.within_months} mo)" if e.within_months else ")"
            t.add_row(
                lst.id,
                lst.kind.value,
                escape(entry),
                f"{lst.duration_months} mo" if lst.duration_months else "while it holds",
                ", ".join(r.value for r in lst.removal) or "[red](none)[/]",
                lst.authority or "[red](none)[/]",
                escape(lst.legal_basis) or "[red](none)[/]",
            )
        console.print(t)

    if cat.memoranda:
        tree = Tree("[bold]Memoranda[/]: list -> measures")
        for memo in cat.memoranda:
            basis = escape(memo.legal_basis) or "no legal basis"
            branch = tree.add(f"{memo.id}: {escape(memo.title)} [dim]({basis})[/]")
            branch.add(f"lists: {', '.join(memo.lists)}")
            for mid in memo.measures:
                m = loaded.index.measures.get(mid)
                label = (
                    f"{m.kind.value} {mid} [{m.domain}]: {m.title}"
                    if m is not None
                    else f"{mid} (unknown)"
                )
                branch.add(escape(label))
            if memo.extends_to:
                branch.add(f"also reaches: {', '.join(r.value for r in memo.extends_to)}")
        console.print(tree)

    if cat.exemptions:
        console.print("[bold]Reviewed exemptions from label screening (SC021)[/]")
        for ex in cat.exemptions:
            origin = loaded.origin.get(("exemptions", ex.key))
            where = f", in {origin.name}" if origin is not None else ""
            subjects = ", ".join(s.value for s in ex.subjects)
            console.print("  " + escape(f"{ex.section}[{ex.id}] ({subjects}){where}"))
            console.print(
                f"    reviewed by {escape(ex.reviewed_by)} on {ex.reviewed_on.isoformat()}"
            )
            console.print(f"    why: {escape(ex.reason)}")


def _scheme_tree(scheme: Scheme) -> Tree:
    if isinstance(scheme, PointsScheme):
        shape = f"points: base {scheme.base:g}, {scheme.floor:g}..{scheme.ceiling:g}"
    elif isinstance(scheme, LicenceScheme):
        shape = f"licence: {scheme.points:g} points over {scheme.period_months} months"
    else:
        shape = f"weighted: {scheme.low:g}..{scheme.high:g}"
    private = f", private, run by {scheme.operator}" if scheme.private else ""
    if scheme.operator and not scheme.private:
        private = f", run by {scheme.operator}"
    tree = Tree(f"[bold]Scheme {scheme.id}[/]: {escape(scheme.title)} ({shape}{private})")
    if isinstance(scheme, WeightedScheme):
        for dim in scheme.dimensions:
            via = f" via {dim.via.value}" if dim.via else ""
            d = tree.add(f"{dim.id} (weight {dim.weight:g}, domain {dim.domain}{via})")
            for rule in dim.rules:
                d.add(_rule_label(rule.record_type, rule.points, rule.by_occurrence, rule.via))
    else:
        for rule in scheme.rules:
            tree.add(_rule_label(rule.record_type, rule.points, rule.by_occurrence, rule.via))
    if scheme.bands:
        tree.add("bands: " + ", ".join(f"{b.grade} >= {b.min:g}" for b in scheme.bands))
    for perk in scheme.perks:
        tree.add(f"perk at {perk.at_least:g}: {', '.join(perk.measures)}")
    return tree


def _rule_label(code: str, points: float | None, by_occ: tuple[float, ...], via: Any) -> str:
    pts = f"{points:+g}" if points is not None else " / ".join(f"{p:+g}" for p in by_occ)
    tail = f" (via {via.value})" if via is not None else ""
    return f"{code}: {pts}{tail}"
