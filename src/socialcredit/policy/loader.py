"""Loading catalogs: TOML files, their ``extends`` chain, merged into one :class:`Catalog`.

A reference is a path to a ``.toml`` file or the id of a bundled catalog (``socialcredit policy
list`` shows them). ``extends`` names catalog ids. The id of a bundled catalog always resolves to
the bundled file, so a local file cannot shadow the shared vocabulary (a ``cn-common.toml``
beside a catalog is not read, and is recorded in :attr:`Loaded.shadowed` for the checker to
refuse, SC020); any other id is looked up beside the file that names it. Admissible catalogs live
in ``catalogs/``; the ones the checker refuses live apart in ``catalogs/synthetic/`` and only the
simulator loads them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from socialcredit.errors import CatalogError
from socialcredit.policy.schema import (
    Catalog,
    CatalogMeta,
    ListDef,
    Measure,
    Memorandum,
    Order,
    RecordType,
    Release,
    Scheme,
)

BUNDLED_DIR = Path(__file__).parent / "catalogs"
SYNTHETIC_DIR = BUNDLED_DIR / "synthetic"

SECTIONS: tuple[tuple[str, str], ...] = (
    ("authorities", "id"),
    ("domains", "id"),
    ("record_types", "code"),
    ("schemes", "id"),
    ("lists", "id"),
    ("measures", "id"),
    ("memoranda", "id"),
    ("orders", "id"),
    ("releases", "id"),
    ("exemptions", "key"),
)


@dataclass(frozen=True)
class BundledCatalog:
    id: str
    path: Path
    synthetic: bool
    meta: CatalogMeta


def bundled_paths() -> dict[str, Path]:
    """``id -> file`` of every bundled catalog (a bundled catalog's id is its file's stem)."""
    out: dict[str, Path] = {}
    for directory in (SYNTHETIC_DIR, BUNDLED_DIR):
        for path in directory.glob("*.toml"):
            out[path.stem] = path.resolve()
    return out


def bundled() -> list[BundledCatalog]:
    """Every catalog shipped with the package, admissible ones first."""
    found = []
    for directory, synthetic in ((BUNDLED_DIR, False), (SYNTHETIC_DIR, True)):
        for path in sorted(directory.glob("*.toml")):
            meta = _parse_file(path).catalog
            found.append(BundledCatalog(meta.id, path, synthetic, meta))
    return found


@dataclass(frozen=True)
class Loaded:
    """A merged catalog and where each of its items came from."""

    catalog: Catalog
    files: tuple[Path, ...]
    """Every file read, bases before the catalogs that extend them."""
    origin: Mapping[tuple[str, str], Path] = field(repr=False)
    """``(section, id) -> file`` that defines it."""
    ids: Mapping[Path, str] = field(default_factory=dict, repr=False)
    """``file -> catalog id`` for every file read."""
    shadowed: tuple[Path, ...] = ()
    """Local files named like a bundled catalog beside a file extending it: not read (the
    bundled catalog is), and refused by the checker (SC020)."""

    @property
    def id(self) -> str:
        return self.catalog.catalog.id

    def location(self, section: str, item_id: str, attr: str | None = None) -> str:
        path = self.origin.get((section, item_id))
        where = f"{path.name}: " if path is not None else ""
        tail = f".{attr}" if attr else ""
        return f"{where}{section}[{item_id}]{tail}"

    @cached_property
    def index(self) -> CatalogIndex:
        return CatalogIndex(self.catalog)


class CatalogIndex:
    """Lookups over a merged catalog, built once; what evaluation and the checker use."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.authorities = {a.id: a for a in catalog.authorities}
        self.domains = {d.id: d for d in catalog.domains}
        self.record_types: dict[str, RecordType] = {r.code: r for r in catalog.record_types}
        self.schemes: dict[str, Scheme] = {s.id: s for s in catalog.schemes}
        self.lists: dict[str, ListDef] = {x.id: x for x in catalog.lists}
        self.measures: dict[str, Measure] = {m.id: m for m in catalog.measures}
        self.memoranda: dict[str, Memorandum] = {m.id: m for m in catalog.memoranda}
        self.orders: dict[str, Order] = {o.id: o for o in catalog.orders}
        self.releases: dict[str, Release] = {r.id: r for r in catalog.releases}
        self.release_steps: dict[str, list[tuple[Release, str]]] = {}
        """Record type -> [(release, step)] for the records of releases' steps (one type may
        be a step of several releases: one grant lifting more)."""
        for release in catalog.releases:
            for code in (*release.record_types, *release.applications, *release.refusals):
                step = release.step(code)
                assert step is not None
                self.release_steps.setdefault(code, []).append((release, step))
        mandate: dict[str, set[str]] = {a: set() for a in self.authorities}
        for rt in catalog.record_types:
            for issuer in rt.issuers:
                mandate.setdefault(issuer, set()).add(rt.code)
        self.mandate: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in mandate.items()}
        self.memoranda_by_list: dict[str, list[Memorandum]] = {}
        for memo in catalog.memoranda:
            for list_id in memo.lists:
                self.memoranda_by_list.setdefault(list_id, []).append(memo)

    def release_applied_for(self, record_type: str) -> Release | None:
        """The release whose application a record of ``record_type`` is (None: it is no
        release's application)."""
        return next((r for r, step in self.release_steps.get(record_type, ())
                     if step == "application"), None)  # fmt: skip


def load(*refs: str | Path) -> Loaded:
    """Load one or more catalogs (paths or bundled ids) and everything they extend, merged."""
    if not refs:
        raise CatalogError("no catalog given")
    order: list[Path] = []
    parsed: dict[Path, Catalog] = {}
    shadowed: list[Path] = []
    for ref in refs:
        _visit(_resolve(ref, None, shadowed), order, parsed, (), shadowed)
    return _merge(order, parsed, tuple(dict.fromkeys(shadowed)))


def load_bundled(*, synthetic: bool = False) -> Loaded:
    """All bundled admissible catalogs merged (the registry's default); with ``synthetic`` also
    the refused ones (the simulator's universe)."""
    refs = [b.path for b in bundled() if synthetic or not b.synthetic]
    return load(*refs)


def _resolve(ref: str | Path, beside: Path | None, shadowed: list[Path]) -> Path:
    if isinstance(ref, Path) or ref.endswith(".toml") or "/" in ref:
        path = Path(ref)
        if not path.is_file():
            raise CatalogError(f"{ref}: no such catalog file")
        return path.resolve()
    local = beside.parent / f"{ref}.toml" if beside is not None else None
    shipped = bundled_paths().get(ref)
    if shipped is not None:
        if local is not None and local.is_file() and local.resolve() != shipped:
            shadowed.append(local.resolve())
        return shipped
    if local is not None and local.is_file():
        return local.resolve()
    known = sorted(b.id for b in bundled())
    hint = _did_you_mean(ref, known)
    raise CatalogError(f"{ref}: no such catalog{hint}")


def _visit(
    path: Path,
    order: list[Path],
    parsed: dict[Path, Catalog],
    stack: tuple[Path, ...],
    shadowed: list[Path],
) -> None:
    if path in parsed:
        return
    if path in stack:
        chain = " -> ".join(p.name for p in (*stack, path))
        raise CatalogError(f"{path.name}: catalog extends itself ({chain})")
    cat = _parse_file(path)
    for base in cat.catalog.extends:
        _visit(_resolve(base, path, shadowed), order, parsed, (*stack, path), shadowed)
    parsed[path] = cat
    order.append(path)


def _parse_file(path: Path) -> Catalog:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path.name}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path.name}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise CatalogError(f"{path.name}: nested too deeply to be a catalog") from None
    return parse(raw, source=path.name)


def parse(raw: Mapping[str, Any], *, source: str = "<catalog>") -> Catalog:
    """Validate a catalog's shape; errors name the file and the field."""
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _describe_loc(raw, err["loc"])
            problems.append(f"{source}: {loc}: {err['msg']}")
        raise CatalogError("\n".join(problems)) from None


def _describe_loc(raw: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    """``('record_types', 3, 'severity')`` -> ``record_types[court.x].severity``."""
    parts: list[str] = []
    node: Any = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            item = node[key]
            name = item.get("id") or item.get("code") if isinstance(item, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{name if name else key}]"]
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def _merge(order: list[Path], parsed: dict[Path, Catalog], shadowed: tuple[Path, ...]) -> Loaded:
    merged: dict[str, list[Any]] = {name: [] for name, _ in SECTIONS}
    origin: dict[tuple[str, str], Path] = {}
    for path in order:
        cat = parsed[path]
        for name, key in SECTIONS:
            for item in getattr(cat, name):
                item_id = getattr(item, key)
                if (name, item_id) in origin:
                    first = origin[(name, item_id)]
                    raise CatalogError(
                        f"{path.name}: {name}[{item_id}] is already defined in {first.name}"
                    )
                origin[(name, item_id)] = path
                merged[name].append(item)
    top = parsed[order[-1]]
    catalog = Catalog(catalog=top.catalog, **{k: tuple(v) for k, v in merged.items()})
    ids = {path: parsed[path].catalog.id for path in order}
    return Loaded(catalog=catalog, files=tuple(order), origin=origin, ids=ids, shadowed=shadowed)


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or an empty string; used in findings and errors."""
    return _did_you_mean(word, options)
