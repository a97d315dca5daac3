"""The policy explorer: every bundled catalog as a picture, with the checker's findings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as default
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from socialcredit.errors import CatalogError, InputError, NotFound
from socialcredit.policy import checker
from socialcredit.policy.loader import BundledCatalog, CatalogIndex, Loaded, bundled, load
from socialcredit.registry.catalogs import version_json
from socialcredit.service.portal.common import _page, _registry, _score

router = APIRouter(include_in_schema=False)


PROFILES = {p.value: p for p in checker.Profile}


SECTION_OF = {"record_types": "rt", "schemes": "scheme", "lists": "list", "memoranda": "memo",
              "measures": "measure"}  # fmt: skip


_LOCATION = re.compile(r"^(?:[^:]*\.toml: )?(\w+)\[([^\]]+)\]")


@lru_cache(maxsize=1)
def _bundled() -> tuple[BundledCatalog, ...]:
    return tuple(bundled())


@lru_cache(maxsize=64)
def _loaded(catalog_id: str) -> tuple[Loaded | None, tuple[checker.Finding, ...]]:
    """A bundled catalog and its load findings (``SC000``) if it cannot be loaded."""
    found = next((b for b in _bundled() if b.id == catalog_id), None)
    if found is None:
        raise NotFound(f"catalog: no bundled catalog {catalog_id[:80]!r}")
    try:
        return load(found.path), ()
    except CatalogError as exc:
        return None, tuple(checker.load_findings(exc, found.path.name))


@lru_cache(maxsize=64)
def _findings(catalog_id: str, profile: str) -> tuple[checker.Finding, ...]:
    loaded, failed = _loaded(catalog_id)
    if loaded is None:
        return failed
    return tuple(checker.check(loaded, profile=PROFILES[profile]))


@router.get("/policy", response_class=HTMLResponse)
def policy_index(request: Request) -> Response:
    rows = []
    for b in _bundled():
        verdicts = {}
        for name in PROFILES:
            errors, warnings = checker.counts(_findings(b.id, name))
            verdicts[name] = {"errors": errors, "warnings": warnings}
        rows.append({"id": b.id, "title": b.meta.title, "version": b.meta.version,
                     "synthetic": b.synthetic, "verdicts": verdicts})  # fmt: skip
    # the versions activated in this registry and retired: the rules are public
    history = [version_json(v) for v in _registry(request).ledger.catalog_versions()]
    return _page(request, "policy_index.html", title="Policy explorer", rows=rows,
                 profiles=list(PROFILES), history=history)  # fmt: skip


@dataclass
class _Node:
    section: str
    id: str
    title: str
    legal_basis: str
    facts: list[tuple[str, str]]
    to: list[tuple[str, str]]
    findings: list[int]
    worst: str = ""
    grouped: list[tuple[str, str, int, int]] = default(default_factory=list)
    """``(code, worst severity, count, first finding)`` per code, for the node's card."""

    @property
    def anchor(self) -> str:
        return f"{SECTION_OF[self.section]}-{self.id}"


def _nodes(index: CatalogIndex) -> dict[str, list[_Node]]:
    """The catalog as columns of nodes, each with the nodes it feeds (``to``)."""
    cols: dict[str, list[_Node]] = {s: [] for s in SECTION_OF}
    feeds_list: dict[str, list[str]] = {}
    feeds_scheme: dict[str, list[str]] = {}
    for lst in index.lists.values():
        for code in lst.entry.record_types:
            feeds_list.setdefault(code, []).append(lst.id)
    for scheme in index.schemes.values():
        rules = list(getattr(scheme, "rules", ()))
        for dim in getattr(scheme, "dimensions", ()):
            rules += list(dim.rules)
        for rule in rules:
            if scheme.id not in feeds_scheme.setdefault(rule.record_type, []):
                feeds_scheme[rule.record_type].append(scheme.id)
    for rt in index.record_types.values():
        pub = rt.publication
        window = f"public {pub.max_months} months" if pub.max_months is not None else "no end"
        cols["record_types"].append(_Node(
            "record_types", rt.code, rt.title, rt.legal_basis,
            [("domain", rt.domain), ("severity", rt.severity.value),
             ("nature", rt.nature.value), ("publication", f"{window}, repair from "
                                           f"{pub.min_months} months"),
             ("issued by", ", ".join(rt.issuers) or "nobody")],
            [("schemes", s) for s in feeds_scheme.get(rt.code, ())]
            + [("lists", x) for x in feeds_list.get(rt.code, ())], [],
        ))  # fmt: skip
    for scheme in index.schemes.values():
        to = [("lists", x.id) for x in index.lists.values() if x.entry.scheme == scheme.id]
        to += [("measures", m) for perk in scheme.perks for m in perk.measures]
        grades = ", ".join(f"{b.grade} from {_score(b.min)}" for b in scheme.bands)
        cols["schemes"].append(_Node(
            "schemes", scheme.id, scheme.title, scheme.legal_basis,
            [("kind", scheme.kind), ("grades", grades or "none")], to, [],
        ))  # fmt: skip
    for lst in index.lists.values():
        entry = (", ".join(lst.entry.record_types) if lst.entry.record_types
                 else f"score of {lst.entry.scheme}")  # fmt: skip
        duration = f"{lst.duration_months} months" if lst.duration_months else "no set duration"
        cols["lists"].append(_Node(
            "lists", lst.id, lst.title, lst.legal_basis,
            [("kind", lst.kind.value), ("entry", entry), ("duration", duration),
             ("ways off", ", ".join(r.value for r in lst.removal) or "none"),
             ("public", "yes" if lst.public else "no")],
            [("memoranda", m.id) for m in index.memoranda_by_list.get(lst.id, ())], [],
        ))  # fmt: skip
    for memo in index.memoranda.values():
        cols["memoranda"].append(_Node(
            "memoranda", memo.id, memo.title, memo.legal_basis,
            [("signatories", ", ".join(memo.signatories) or "none named"),
             ("reaches", ", ".join(r.value for r in memo.extends_to) or "the listed subject")],
            [("measures", m) for m in memo.measures], [],
        ))  # fmt: skip
    for m in index.measures.values():
        cols["measures"].append(_Node(
            "measures", m.id, m.title, m.legal_basis,
            [("kind", m.kind.value), ("domain", m.domain)], [], [],
        ))  # fmt: skip
    return cols


def _attach(cols: dict[str, list[_Node]], findings: tuple[checker.Finding, ...]) -> list[int]:
    """Hang each finding on the node its location names; returns the ones on no node."""
    by_key = {(n.section, n.id): n for nodes in cols.values() for n in nodes}
    loose = []
    for i, f in enumerate(findings):
        match = _LOCATION.match(f.location)
        node = by_key.get((match.group(1), match.group(2))) if match else None
        if node is None:
            loose.append(i)
            continue
        node.findings.append(i)
        if f.severity is checker.Severity.error:
            node.worst = "error"
        elif not node.worst:
            node.worst = "warning"
    for nodes in cols.values():
        for node in nodes:
            by_code: dict[str, tuple[str, str, int, int]] = {}
            for i in node.findings:
                f = findings[i]
                code, worst, count, first = by_code.get(f.code, (f.code, "warning", 0, i))
                if f.severity is checker.Severity.error:
                    worst = "error"
                by_code[f.code] = (code, worst, count + 1, first)
            node.grouped = list(by_code.values())
    return loose


BOX_W, BOX_H, ROW, GAP, TOP = 200, 22, 28, 70, 34


def _picture(cols: dict[str, list[_Node]]) -> dict[str, Any]:
    """A left-to-right map: boxes per column, ordered to keep edges short, and curves."""
    shown = [s for s in SECTION_OF if cols[s] or s != "schemes"]
    place: dict[tuple[str, str], tuple[float, float]] = {}
    columns = []
    incoming: dict[tuple[str, str], list[float]] = {}
    for c, section in enumerate(shown):
        nodes = cols[section]
        if c > 0:

            def order(n: _Node, section: str = section) -> float:
                ys = incoming.get((section, n.id))
                return sum(ys) / len(ys) if ys else float("inf")

            nodes = sorted(nodes, key=order)
            cols[section] = nodes
        x = c * (BOX_W + GAP) + 4
        boxes = []
        for r, n in enumerate(nodes):
            y = TOP + r * ROW
            place[(section, n.id)] = (x, y)
            label = n.id if len(n.id) <= 30 else n.id[:29] + "\u2026"
            boxes.append({"x": x, "y": y, "node": n, "label": label})
            for target in n.to:
                incoming.setdefault(target, []).append(r)
        columns.append({"title": section.replace("_", " ").capitalize(), "x": x, "boxes": boxes})
    edges = []
    for section in shown:
        for n in cols[section]:
            x1, y1 = place[(section, n.id)]
            for target in n.to:
                if target not in place:
                    continue
                x2, y2 = place[target]
                a, b = x1 + BOX_W, y1 + BOX_H / 2
                c2, d = x2, y2 + BOX_H / 2
                mid = (a + c2) / 2
                edges.append(
                    f"M{a:.0f},{b:.0f} C{mid:.0f},{b:.0f} {mid:.0f},{d:.0f} {c2:.0f},{d:.0f}"
                )
    rows = max((len(cols[s]) for s in shown), default=0)
    return {
        "width": len(shown) * (BOX_W + GAP) - GAP + 8,
        "height": TOP + max(rows, 1) * ROW + 6,
        "columns": columns,
        "edges": edges,
        "box_w": BOX_W,
        "box_h": BOX_H,
    }


def exemptions_of(loaded: Loaded | None) -> list[dict[str, str]]:
    """A catalog's reviewed exemptions from label screening, as the portal shows them."""
    if loaded is None:
        return []
    out = []
    for ex in loaded.catalog.exemptions:
        origin = loaded.origin.get(("exemptions", ex.key))
        out.append({
            "section": ex.section, "id": ex.id,
            "subjects": ", ".join(s.value for s in ex.subjects),
            "reviewed_by": ex.reviewed_by, "reviewed_on": ex.reviewed_on.isoformat(),
            "reason": ex.reason, "file": origin.name if origin is not None else "",
        })  # fmt: skip
    return out


@router.get("/policy/{catalog_id}", response_class=HTMLResponse)
def policy_catalog(request: Request, catalog_id: str, profile: str = "cn-2021") -> Response:
    if profile not in PROFILES:
        raise InputError("profile", f"{profile[:40]!r} is not a legal profile "
                                    f"(one of: {', '.join(PROFILES)})")  # fmt: skip
    loaded, _ = _loaded(catalog_id)
    found = next(b for b in _bundled() if b.id == catalog_id)
    findings = _findings(catalog_id, profile)
    errors, warnings = checker.counts(findings)
    cols = _nodes(loaded.index) if loaded is not None else {s: [] for s in SECTION_OF}
    loose = _attach(cols, findings)
    picture = _picture(cols)
    meta = loaded.catalog.catalog if loaded is not None else found.meta
    return _page(
        request,
        "policy.html",
        title=f"Policy: {catalog_id}",
        meta=meta,
        exemptions=exemptions_of(loaded),
        synthetic=found.synthetic,
        files=[p.name for p in loaded.files] if loaded is not None else [found.path.name],
        profile=profile,
        profiles=list(PROFILES),
        findings=findings,
        codes=checker.CODES,
        errors=errors,
        warnings=warnings,
        loose=loose,
        cols=cols,
        picture=picture,
        sections=[s for s in SECTION_OF if cols[s] or s != "schemes"],
    )
