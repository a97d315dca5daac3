"""Scenarios: everything about the *world* a run simulates (the rules come from catalogs).

A scenario is a TOML file (bundled ones in ``sim/scenarios/``). Rates are per person per year
unless named otherwise; every parameter is documented here and each bundled file cites where
its values come from and how they were set.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from pydantic import BaseModel

from socialcredit.errors import InputError

if TYPE_CHECKING:
    from socialcredit.sim.folding import ConductScenario
    from socialcredit.sim.world import World


BUNDLED = "socialcredit.sim.scenarios"
WORLDS = "socialcredit.sim.worlds"


def override_path(key: str) -> list[str]:
    """The path an override key addresses: parts split at dots, a part in double or single
    quotes taken as it is (``'records_per_year."unified.petition"'`` -> ``["records_per_year",
    "unified.petition"]``), as TOML's dotted keys are written. A malformed key is refused."""
    parts: list[str] = []
    i, n = 0, len(key)
    while True:
        if i < n and key[i] in "\"'":
            quote = key[i]
            close = key.find(quote, i + 1)
            if close < 0:
                raise InputError(f"scenario.{key}", f"unterminated quote in the key {key!r}")
            parts.append(key[i + 1 : close])
            i = close + 1
        else:
            dot = key.find(".", i)
            part = key[i:] if dot < 0 else key[i:dot]
            if not _BARE.fullmatch(part):
                raise InputError(
                    f"scenario.{key}",
                    f"{part!r} in the key {key!r} is not a name: quote a part that holds dots "
                    'or other characters (records_per_year."unified.petition")',
                )
            parts.append(part)
            i += len(part)
        if i == n:
            return parts
        if key[i] != ".":
            raise InputError(f"scenario.{key}", f"expected a dot after {parts[-1]!r} in {key!r}")
        i += 1


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def quote_path(parts: Sequence[str]) -> str:
    """The key for ``parts`` (the inverse of :func:`override_path`)."""
    return ".".join(p if _BARE.fullmatch(p) else json.dumps(p) for p in parts)


def _node(model: Any, part: str, where: str) -> tuple[Any, bool]:
    """What ``part`` holds under ``model`` (a pydantic model class, or a ``dict[K, V]``
    annotation): the type there, and whether ``part`` may be a new key (a table of free keys,
    such as rates by record type) rather than a parameter. Unknown parameters are refused."""
    model = _unwrap(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        field = model.model_fields.get(part)
        if field is None:
            known = ", ".join(sorted(model.model_fields))
            raise InputError(where, f"no such parameter (known here: {known})")
        return field.annotation, False
    if get_origin(model) is dict:
        return get_args(model)[1], True
    raise InputError(where, "is not a table: cannot set keys inside it")


def split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Overrides of a run as (the scenario's or world's, the regime's): a path starting with
    ``regime`` (``regime.cameras.coverage``), or a table under ``regime``, is the regime
    file's; anything else the scenario's."""
    scenario: dict[str, Any] = {}
    regime: dict[str, Any] = {}
    for key, value in overrides.items():
        head, *rest = override_path(key)
        if head != "regime":
            scenario[key] = value
        elif rest:
            regime[quote_path(rest)] = value
        elif isinstance(value, dict):
            regime.update(value)
        else:
            raise InputError("regime", "set the regime's parameters one by one (regime.cameras...)")
    return scenario, regime


def merge_overrides(
    raw: dict[str, Any], overrides: Mapping[str, Any], model: Any, root: str = "scenario"
) -> None:
    """Overrides into a scenario's raw TOML, in place. A key is a path (:func:`override_path`)
    or a table of keys (``{"objection": {"p_innocent": 0.5}}``, as TOML writes a dotted key);
    either way only the values named change: a table is merged, never replaced. Every part of a
    path must be a parameter of ``model`` (the scenario's class) or a key of a table of free keys
    (rates by record type, tiers, ...); anything else is refused by name."""
    for key, value in overrides.items():
        _set(raw, override_path(key), value, model, [], root)


def _set(
    raw: dict[str, Any], path: list[str], value: Any, model: Any, done: list[str], root: str
) -> None:
    head, rest = path[0], path[1:]
    where = f"{root}." + quote_path([*done, head])
    inner, free = _node(model, head, where)
    new_key = rest and free and head not in raw
    if new_key and (not _is_table(inner) or (_admits_value(inner) and not rest[0].isdigit())):
        whole = quote_path([*done, ".".join(path)])
        raise InputError(
            where, f"no key {head!r} in this table; a key with dots is quoted: {whole}"
        )
    if rest or isinstance(value, dict):
        table = raw.setdefault(head, {})
        if not isinstance(table, dict):
            raise InputError(where, "is not a table: cannot set keys inside it")
        if rest:
            _set(table, rest, value, inner, [*done, head], root)
            return
        if not _is_table(inner):
            raise InputError(where, f"is a single value, not a table: {value!r} cannot go there")
        for k, v in value.items():
            _set(table, [str(k)], v, inner, [*done, head], root)
        return
    if _is_table(inner) and not _admits_value(inner) and raw.get(head) is not None:
        raise InputError(where, "is a table: set its keys one by one (a table is never replaced)")
    raw[head] = value


def _unwrap(annotation: Any) -> Any:
    """The table in an optional or alternative annotation (``Organisations | None``, ``float
    | dict[int, float]``), if it has one."""
    if get_origin(annotation) in (Union, UnionType):
        tables = [a for a in get_args(annotation) if _is_table(a)]
        if tables:
            return tables[0]
    return annotation


def _admits_value(annotation: Any) -> bool:
    """Whether a single value may stand where ``annotation`` also admits a table (a rate, or a
    table of rates by year): setting one then replaces what was there."""
    return get_origin(annotation) in (Union, UnionType) and any(
        not _is_table(a) for a in get_args(annotation)
    )


def _is_table(annotation: Any) -> bool:
    annotation = _unwrap(annotation) if get_origin(annotation) in (Union, UnionType) else annotation
    return get_origin(annotation) is dict or (
        isinstance(annotation, type) and issubclass(annotation, BaseModel)
    )


def bundled_names() -> list[str]:
    from socialcredit.sim.common import bundled_toml

    return bundled_toml(BUNDLED)


def load_any(ref: str | Path, **overrides: Any) -> ConductScenario | World:
    """A bundled scenario or world by name, or a TOML file: a world (``kind = "world"``, in
    ``sim/worlds/``: conduct processes that every regime observes in its own way) or a conduct
    scenario (``kind = "conduct"``, the default: rates of records by type, for one regime's
    catalogs). ``overrides`` (path -> value, :func:`merge_overrides`; a ``None`` value is
    ignored) change single values before it is validated; keys with dots pass as
    ``**{'a."b.c"': 1}``."""
    from socialcredit.sim.common import read_ref, validated
    from socialcredit.sim.folding import ConductScenario, load_conduct_scenario
    from socialcredit.sim.world import World

    try:
        text, source = read_ref(ref, BUNDLED, "scenario")
    except InputError:
        if isinstance(ref, Path) or str(ref).endswith(".toml"):
            raise
        try:
            text, source = read_ref(ref, WORLDS, "world")
        except InputError:
            from socialcredit.sim.common import bundled_toml

            raise InputError(
                "scenario",
                f"no scenario {str(ref)!r} (bundled: {', '.join(bundled_toml(BUNDLED))}; "
                f"worlds: {', '.join(bundled_toml(WORLDS))})",
            ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("scenario", f"{source}: not valid TOML: {exc}") from None
    kind = raw.get("kind", "conduct")
    if kind not in ("conduct", "world"):
        raise InputError("scenario.kind", f"{source}: unknown kind {kind!r} (conduct, world)")
    model: Any = World if kind == "world" else ConductScenario
    merge_overrides(raw, {k: v for k, v in overrides.items() if v is not None}, model)
    if kind == "world":
        return validated(World, raw, source=source, field="world")
    return load_conduct_scenario(raw, source)
