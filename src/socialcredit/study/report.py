"""``socialcredit study report``: a study folder as one self-contained HTML page, and its data.

Everything is computed from the files ``study run`` wrote, and only from the results that match
the study's inputs (:func:`socialcredit.study.runner.read_results`): the result rows (one per
simulation) for the side-by-side table, with a 95% confidence interval across seeds (Student's
t), and each run's per-day metrics for the plots. Figures are PNGs embedded as data URIs, so the
page can be mailed or archived as one file. Rates are per 100,000 simulated persons, so regimes
over populations of different sizes compare.

What makes the numbers safe to quote:

- every figure has its unit and definition beside it (:data:`DEFINITIONS`, :func:`definition`);
- a figure that does not apply to a regime, or that its engine does not count, reads "n/a" with
  the reason (:func:`not_applicable`), never 0;
- the page says what "±" covers (the simulation's chance across seeds, not the assumed rates),
  marks a positive figure whose interval reaches zero, shows the simulated count behind every
  cell and greys out cells standing for fewer than :data:`MIN_COUNT`;
- a section per regime in plain words (what it is, its sources, what was assumed, three figures
  with definitions), each run's resolved rates, and the one-at-a-time sensitivity table;
- the data beside the page (:func:`export`): ``results.csv``/``.parquet`` and ``table.csv``.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.sim.scenario import quote_path
from socialcredit.study.runner import read_results
from socialcredit.study.spec import Study

# two-sided 97.5% quantiles of Student's t by degrees of freedom (1..30); 1.96 beyond
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)

# (label, total, how): "stock" per 100k at the end; "flow" per 100k per year; "share" as is
ROWS: tuple[tuple[str, str, str], ...] = (
    ("Listed at the end", "listed_now", "stock"),
    ("Ever listed", "listed_ever", "stock"),
    ("Restricted at the end (incl. family or representatives)", "restricted_now", "stock"),
    ("Restricted innocents at the end", "restricted_innocents", "stock"),
    ("Records made", "records", "flow"),
    ("Wrongly attributed records", "false_records", "flow"),
    ("Of which: named by a camera's misidentification", "misattributed_records", "flow"),
    ("Conduct a restriction deterred", "deterred", "flow"),
    ("Of which: lawful conduct (speech, petitions, purchases...)", "deterred_lawful", "flow"),
    ("Uses denied, every measure", "denials", "flow"),
    ("Denials of innocents", "innocent_denials", "flow"),
    ("Objections upheld", "objections_upheld", "flow"),
    ("Repairs granted", "repairs_granted", "flow"),
    ("Obligations performed (records of defaults)", "fulfilled", "flow"),
    ("Left a list (expiry, repair, performance, score recovered)", "delisted", "flow"),
    ("Gini of scores (0 = equal)", "gini", "share"),
    ("Mobility: share of those ever at the bottom who climbed out", "mobility", "share"),
)

DEFINITIONS: dict[str, str] = {
    "listed_now": "Simulated persons (and, under the court list, organisations) on at least one "
    "list on the run's last day.",
    "listed_ever": "Persons (and organisations) who were on a list at any time in the run, each "
    "counted once.",
    "restricted_now": "Persons under at least one restriction on the last day: the listed "
    "themselves and whoever the regime's memoranda extend restrictions to (a listed company's "
    "legal representative under the court list; the household of a listed person under the "
    "unified score).",
    "restricted_innocents": "Persons restricted on the last day with no legal violation of "
    "their own on record (the model knows the truth). Who they are depends on the regime: under "
    "the court list, people a record was wrongly attributed to; under the unified score mostly "
    "household members of listed people, and people scored for lawful conduct (speech, "
    "purchases, petitioning); under the pilot city, petitioners. By cause: see 'Restricted "
    "innocents by cause'.",
    "records": "Records authorities made about simulated people (every record type, correct or "
    "not).",
    "false_records": "Records attributed to the wrong person (identity mix-ups, data errors, a "
    "camera's misidentification): the person recorded did nothing.",
    "deterred": "Events of conduct that people did not do because a restriction held them: "
    "the regime (or the world) lowers their rate of that conduct while restricted, an "
    "assumption stated in the regime file; each event not done counts once.",
    "deterred_lawful": "Of those, lawful conduct: posts, petitions, purchases and the like that "
    "restricted people gave up (a chilling effect), not offences prevented.",
    "misattributed_records": "Records a camera made of someone's conduct that name another "
    "person of the same place and income group (the regime's misattribution share, an "
    "assumption).",
    "denials": "Uses refused because a restriction was in force: each flight or G-train booked, "
    "loan applied for, job applied for... by a restricted person counts once. The court list's "
    "engine counts flights and G-trains only.",
    "innocent_denials": "Denials (as above) of persons with no legal violation of their own.",
    "objections_upheld": "Objections decided in the subject's favour: the record is voided.",
    "repairs_granted": "Credit repairs granted: the record stops counting before its time.",
    "fulfilled": "Records of defaults whose obligation was performed (listed or not).",
    "delisted": "Times someone left a list (its period ended, a repair was granted, the debt "
    "was performed, the score recovered).",
    "gini": "Inequality of scores in the regime's first graded scheme on the last day: 0 when "
    "everyone has the same score, 1 when one person holds everything.",
    "mobility": "Of those ever at the bottom (on the list, for the court list; in the lowest "
    "grade, for scores), the share out of it on the last day.",
}

UNITS = {
    "stock": "per 100,000 simulated persons, at the end of the run",
    "flow": "per 100,000 simulated persons per year of the run",
    "share": "a share (0 to 1), not scaled",
}

MIN_COUNT = 20
"""Cells standing for fewer simulated agents or events than this (mean over seeds) are greyed
out: too few to quote."""


CALIBRATION = {  # docs/sources.md: court list, national, cumulative
    date(2018, 9, 30): {
        "listed_ever": 12.11e6,
        "measure.restrict.flight.denials": 14.63e6,
        "measure.restrict.g_train.denials": 5.22e6,
        "fulfilled": 3.22e6,
    },
    date(2018, 12, 31): {
        "listed_ever": 12.88e6,
        "measure.restrict.flight.denials": 17.46e6,
        "measure.restrict.g_train.denials": 5.47e6,
        "fulfilled": 3.51e6,
    },
}


CALIBRATION_LABELS = {
    "listed_ever": "persons and organisations ever listed",
    "measure.restrict.flight.denials": "flight bookings denied (published: flight restrictions)",
    "measure.restrict.g_train.denials": "G-train bookings denied (published: rail restrictions)",
    "fulfilled": "debts performed after listing (published: complied / repaid; every refused "
    "judgment lists at once)",
}


def ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (0 with one value)."""
    v = [x for x in values if x is not None and not math.isnan(x)]
    if not v:
        return math.nan, math.nan
    mean = float(np.mean(v))
    if len(v) < 2:
        return mean, 0.0
    t = _T975[len(v) - 2] if len(v) - 1 <= len(_T975) else 1.96
    return mean, float(t * np.std(v, ddof=1) / math.sqrt(len(v)))


def _years(row: dict[str, Any]) -> float:
    return (
        date.fromisoformat(row["end"]) - date.fromisoformat(row["start"])
    ).days / 365.25 + 1 / 365.25


def _value(row: dict[str, Any], key: str, how: str) -> float | None:
    if how == "share":
        v = row.get(key)
        return None if v is None else float(v)
    total = row.get(f"t_{key}")
    if total is None:
        return None
    per = float(total) / float(row["population"]) * 1e5
    return per / _years(row) if how == "flow" else per


def per_item_rows(columns: Sequence[str]) -> list[tuple[str, str, str]]:
    """Rows every list and measure of the one engine gets, from the totals the runs have: on
    each list at the end, held by each measure at the end, uses each measure denied."""
    rows = []
    for col in sorted(columns):
        key = col.removeprefix("t_")
        if not col.startswith("t_") or not key.startswith(("list.", "measure.")):
            continue
        kind, _, rest = key.partition(".")
        item, _, figure = rest.rpartition(".")
        if kind == "list" and figure == "in_force":
            rows.append((f"On list {item} at the end", key, "stock"))
        elif kind == "measure" and figure == "held":
            rows.append((f"Held by measure {item} at the end", key, "stock"))
        elif kind == "measure" and figure == "denials":
            rows.append((f"Uses denied by measure {item}", key, "flow"))
    return rows


def definition(key: str, titles: dict[str, str] | None = None) -> str:
    """What a row's figure counts (``titles``: list and measure ids -> their catalogs' titles)."""
    if key in DEFINITIONS:
        return DEFINITIONS[key]
    kind, _, rest = key.partition(".")
    item, _, figure = rest.rpartition(".")
    title = (titles or {}).get(item)
    named = f"{item} ({title})" if title else item
    if kind == "list":
        return f"Persons on the list {named} on the last day."
    if figure == "held":
        return (
            f"Persons the measure {named} applies to on the last day: restricted by it (a "
            "restriction) or granted it (an incentive, a perk)."
        )
    return f"Uses refused by the measure {named}: each attempt by a person it restricts counts."


def item_titles(study: Study) -> dict[str, str]:
    """The titles the runs' catalogs give their lists and measures (a regime that cannot be
    loaded any more is skipped: its rows keep their ids)."""
    from socialcredit.errors import SocialCreditError
    from socialcredit.sim.regime import load_any_regime

    titles: dict[str, str] = {}
    for ref in dict.fromkeys(r.regime for r in study.runs):
        try:
            index = load_any_regime(ref).loaded.index
        except (SocialCreditError, OSError):
            continue
        for lid, lst in index.lists.items():
            titles.setdefault(lid, lst.title)
        for mid, measure in index.measures.items():
            titles.setdefault(mid, measure.title)
    return titles


def not_applicable(key: str, row: dict[str, Any]) -> str:
    """Why ``row`` (a run's result) has no figure ``key``."""
    regime = row.get("regime", "")
    kind, _, rest = key.partition(".")
    item, _, figure = rest.rpartition(".")
    if key == "gini":
        return f"regime {regime} has no score with grades"
    if key == "mobility":
        return "nobody was ever at the bottom (on a list, or in the lowest grade)"
    if kind == "list":
        return f"regime {regime} has no such list"
    if kind == "measure":
        return f"no list, order or perk of regime {regime} carries this measure"
    return "the engine does not report this figure for this run"


_LIST_FIGURES = {"listed_now", "listed_ever", "delisted", "restricted_now",
                 "restricted_innocents", "denials", "innocent_denials"}  # fmt: skip


def _does_not_apply(
    key: str, row: dict[str, Any], scenario: dict[str, Any] | None, regime: dict[str, Any] | None
) -> str | None:
    """Why a figure a run reports (as 0) does not apply to it: the regime has no list, so no
    one can be listed or restricted; or nobody uses what a measure governs (the scenario gives
    no rate of use of it; over a world, the regime maps it to no service people use), so its
    denials are not modelled."""
    has_list = row.get("has_list")
    if has_list is None:
        has_list = any(k.startswith("t_list.") and v is not None for k, v in row.items())
    if key in _LIST_FIGURES and not has_list:
        return f"regime {row.get('regime')} has no list: no one is listed or restricted by it"
    if scenario is None or not (key.endswith("denials") and key != "innocent_denials"):
        return None
    uses = [m for t in scenario.get("tiers", {}).values()
            for m, rate in t.get("uses_per_year", {}).items() if rate > 0]  # fmt: skip
    if scenario.get("kind") == "world":  # uses are by service; the regime maps measures to them
        services = (regime or {}).get("services", {})
        uses = [m for m, service in services.items() if service in uses]
    if key == "denials" and not uses:
        return f"scenario {scenario.get('name')} models no use of any measure (uses_per_year)"
    measure = key.removeprefix("measure.").removesuffix(".denials")
    if key.startswith("measure.") and measure not in uses:
        return (
            f"scenario {scenario.get('name')} gives no rate of use of this measure "
            "(uses_per_year), so its denials are not modelled"
        )
    return None


def side_by_side(
    results: pa.Table,
    runs: Sequence[str],
    scenarios: dict[str, dict[str, Any]] | None = None,
    titles: dict[str, str] | None = None,
    regimes: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One row per figure, one cell per run (base points only). A cell is a dict: ``mean``,
    ``half`` (of the 95% interval), ``seeds``, ``raw`` (mean count of agents or events behind
    it, unscaled; None for shares), ``small`` (raw under :data:`MIN_COUNT`); or ``na``, the
    reason the figure does not apply to that run (``scenarios``: run -> its resolved scenario,
    to tell a measure nobody uses from one that denied nothing)."""
    base = results.filter(pc.equal(results["point"], "{}")).to_pylist()
    out = []
    for label, key, how in (*ROWS, *per_item_rows(results.column_names)):
        cells: dict[str, dict[str, Any] | None] = {}
        for run in runs:
            mine = [r for r in base if r["run"] == run]
            if not mine:
                cells[run] = None
                continue
            reason = _does_not_apply(
                key, mine[0], (scenarios or {}).get(run), (regimes or {}).get(run)
            )
            cell = _cell(mine, key, how) if reason is None else None
            cells[run] = cell or {"na": reason or not_applicable(key, mine[0])}
        if any(c is not None and "na" not in c for c in cells.values()):
            out.append(
                {
                    "label": label,
                    "key": key,
                    "how": how,
                    "cells": cells,
                    "definition": definition(key, titles),
                }
            )
    return out


def _cell(mine: list[dict[str, Any]], key: str, how: str) -> dict[str, Any] | None:
    """A run's figure ``key`` over its seeds (``mine``: its result rows): ``mean``, ``half``
    (of the 95% interval), ``seeds``, ``raw`` (mean count of agents or events behind it,
    unscaled; None for shares), ``small`` (raw under :data:`MIN_COUNT`); None if no seed has
    it."""
    vals = [v for r in mine if (v := _value(r, key, how)) is not None]
    if not vals:
        return None
    mean, half = ci(vals)
    raw = None
    if how != "share":
        raw = float(np.mean([float(r[f"t_{key}"]) for r in mine]))
    return {
        "mean": mean,
        "half": half,
        "seeds": len(vals),
        "raw": raw,
        "small": raw is not None and raw < MIN_COUNT,
    }


def _fmt(mean: float, half: float, how: str, *, seeds: int = 2) -> str:
    """A mean and, with more than one seed, its interval (shown even when it is 0)."""
    if math.isnan(mean):
        return "n/a"
    digits = 3 if how == "share" else (1 if abs(mean) < 100 else 0)
    text = f"{mean:,.{digits}f}"
    return text + (f" ± {half:,.{digits}f}" if seeds > 1 else "")


# --------------------------------------------------------------------------------------------
# Per-day series


def _series(
    out: Path, run: str, column: str, since: date | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The run's calendar dates from ``since`` (after a warm-up), and the mean over seeds of
    ``column`` per day."""
    files = sorted((out / "runs" / run / "base").glob("seed-*/metrics.parquet"))
    stacks = []
    for f in files:
        names = pq.read_schema(f).names
        if column not in names:
            return None
        stacks.append(pq.read_table(f, columns=[column]).column(0).to_numpy().astype(float))
    if not stacks:
        return None
    n = min(len(s) for s in stacks)
    mean = np.mean([s[:n] for s in stacks], axis=0)
    dates = pq.read_table(files[0], columns=["date"]).column(0).to_numpy()[:n]
    if since is not None:
        keep = dates >= np.datetime64(since)
        return dates[keep], mean[keep]
    return dates, mean


def _grade_columns(out: Path, run: str) -> dict[str, dict[str, dict[str, str]]]:
    """``scheme -> tier -> grade -> column`` of a run's grade counts (``scheme.S.TIER.GRADE``;
    the grade ``unscored`` counts those no record of whom counts in the scheme)."""
    files = sorted((out / "runs" / run / "base").glob("seed-*/metrics.parquet"))
    found: dict[str, dict[str, dict[str, str]]] = {}
    for col in pq.read_schema(files[0]).names if files else []:
        if col.startswith("scheme."):
            scheme, tier, grade = col.removeprefix("scheme.").rsplit(".", 2)
            found.setdefault(scheme, {}).setdefault(tier, {})[grade] = col
    return found


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _plots(
    out: Path, study: Study, results: pa.Table, table: list[dict[str, Any]]
) -> list[tuple[str, str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r.name for r in study.runs]
    figures: list[tuple[str, str, str]] = []
    pops = {r["run"]: r["population"] for r in results.to_pylist()}
    starts = {r["run"]: date.fromisoformat(r["start"]) for r in results.to_pylist()}

    def over_time(column: str, title: str, note: str) -> None:
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        drawn = False
        for run in runs:
            s = _series(out, run, column, starts.get(run))
            if s is None:
                continue
            ax.plot(s[0], s[1] / pops[run] * 1e5, label=run)
            drawn = True
        if not drawn:
            plt.close(fig)
            return
        ax.set_xlabel("date (each run over its own period)")
        ax.set_ylabel("per 100,000 persons")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
        figures.append((title, _png(fig), note))

    over_time(
        "listed_now",
        "On a list, over time",
        "Persons (and organisations) on a list each day, mean over seeds.",
    )
    over_time(
        "restricted_innocents",
        "Restricted innocents, over time",
        "People restricted with no violation of their own: wrong records, family "
        "contagion, lawful conduct scored.",
    )

    def bars(keys: Sequence[tuple[str, str]], title: str, note: str) -> None:
        rows = {r["key"]: r for r in table}
        present = [(k, label) for k, label in keys if k in rows]
        if not present:
            return
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        width = 0.8 / len(present)
        x = np.arange(len(runs))
        for i, (k, label) in enumerate(present):
            cells = rows[k]["cells"]
            ok = [cells.get(r) is not None and "na" not in cells[r] for r in runs]
            means = [cells[r]["mean"] if good else np.nan for r, good in zip(runs, ok, strict=True)]
            errs = [cells[r]["half"] if good else 0 for r, good in zip(runs, ok, strict=True)]
            ax.bar(x + i * width, means, width, yerr=errs, label=label, capsize=3)
            for j, good in enumerate(ok):
                if not good:  # not applicable: no bar, not a bar at zero
                    ax.text(x[j] + i * width, 0, "n/a", ha="center", va="bottom", fontsize=7,
                            rotation=90, color="#777")  # fmt: skip
        ax.set_xticks(x + width * (len(present) - 1) / 2, runs)
        ax.set_ylabel("per 100,000 persons per year")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(frameon=False)
        figures.append((title, _png(fig), note))

    bars(
        [
            ("measure.restrict.flight.denials", "flights"),
            ("measure.restrict.g_train.denials", "G trains"),
            ("denials", "every measure"),
            ("innocent_denials", "of innocents"),
        ],
        "Denials",
        "Uses refused because a restriction was in force, per 100,000 persons per year, with "
        "95% intervals across seeds; 'n/a' where the regime has no such measure or its engine "
        "does not count it.",
    )
    bars(
        [
            ("objections_upheld", "objections upheld"),
            ("repairs_granted", "repairs granted"),
            ("fulfilled", "obligations performed"),
            ("delisted", "left a list"),
        ],
        "Due process and compliance",
        "What the ways off a list did, per 100,000 persons per year; 'n/a' where the engine "
        "does not count the figure (see the notes under the table).",
    )

    # grade distribution by income tier, at the end (first seed's last day)
    for run in runs:
        f = sorted((out / "runs" / run / "base").glob("seed-*/metrics.parquet"))
        for scheme, by_tier in _grade_columns(out, run).items():
            cols = [c for grades_ in by_tier.values() for c in grades_.values()]
            counts_table = pq.read_table(f[0], columns=cols)
            last = counts_table.slice(counts_table.num_rows - 1).to_pylist()[0]
            tiers = list(by_tier)
            grades = list(dict.fromkeys(g for grades_ in by_tier.values() for g in grades_))
            if grades == ["unscored"]:
                continue
            fig, ax = plt.subplots(figsize=(7.5, 3.0))
            left = np.zeros(len(tiers))
            totals = np.array([sum(last[c] or 0 for c in by_tier[t].values()) for t in tiers],
                              float)  # fmt: skip
            for g in grades:
                counts = np.array([last.get(by_tier[t].get(g, ""), 0) or 0 for t in tiers], float)
                share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
                ax.barh(tiers, share, left=left, label="no record" if g == "unscored" else g)
                left += share
            ax.set_xlabel("share of the tier")
            ax.legend(frameon=False, ncol=min(len(grades), 6), loc="upper center",
                      bbox_to_anchor=(0.5, -0.25))  # fmt: skip
            figures.append(
                (
                    f"Grades by income tier: {run}, {scheme}",
                    _png(fig),
                    "Share of each income tier in each grade on the last day ('no record': no "
                    "record of theirs counts in the scheme).",
                )
            )

    sweep = _sweep_plot(results, study)
    if sweep is not None:
        figures.append(sweep)
    return figures


def sweep_cells(results: pa.Table, study: Study) -> list[dict[str, Any]]:
    """Each grid point of the sweep: its values, restricted innocents at the end per 100,000
    (mean, 95% half-width, seeds) and ``raw``, the mean count of simulated persons behind it."""
    if study.sweep is None:
        return []
    metric = "restricted_innocents"
    keys = [k for k in study.sweep if k != "run"]
    rows = results.filter(pc.equal(results["run"], study.sweep["run"])).to_pylist()
    by_point: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["point"] != "{}":
            by_point.setdefault(r["point"], []).append(r)
    cells = []
    for point, mine in by_point.items():
        vals = [v for r in mine if (v := _value(r, metric, "stock")) is not None]
        if not vals or set(json.loads(point)) != set(keys):
            continue  # (a point of the sensitivity table, not of the grid)
        mean, half = ci(vals)
        raw = float(np.mean([float(r[f"t_{metric}"]) for r in mine]))
        p = json.loads(point)
        cells.append(
            {
                "point": p,
                "values": [p.get(k) for k in keys],
                "mean": mean,
                "half": half,
                "seeds": len(vals),
                "raw": raw,
                "small": raw < MIN_COUNT,
            }
        )
    return cells


def _sweep_plot(results: pa.Table, study: Study) -> tuple[str, str, str] | None:
    cells = sweep_cells(results, study)
    if study.sweep is None or not cells:
        return None
    import matplotlib.pyplot as plt

    keys = [k for k in study.sweep if k != "run"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    if len(keys) >= 2:
        xs, ys = study.sweep[keys[0]], study.sweep[keys[1]]
        grid = np.full((len(ys), len(xs)), np.nan)
        raw = np.full((len(ys), len(xs)), np.nan)
        for c in cells:
            x, y = c["values"][0], c["values"][1]
            if x in xs and y in ys:
                grid[ys.index(y), xs.index(x)] = c["mean"]
                raw[ys.index(y), xs.index(x)] = c["raw"]
        small = raw < MIN_COUNT
        shown = np.where(small, np.nan, grid)
        im = ax.imshow(shown, origin="lower", aspect="auto", cmap="magma_r")
        ax.imshow(np.where(small, 1.0, np.nan), origin="lower", aspect="auto", cmap="Greys",
                  vmin=0, vmax=4)  # fmt: skip
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        ax.set_yticks(range(len(ys)), [str(y) for y in ys])
        ax.set_xlabel(keys[0])
        ax.set_ylabel(keys[1])
        middle = np.nanmean(shown) if np.isfinite(shown).any() else 0.0
        for i in range(len(ys)):
            for j in range(len(xs)):
                if np.isnan(grid[i, j]):
                    continue
                dark = not small[i, j] and grid[i, j] > middle
                ax.text(j, i, f"{grid[i, j]:.1f}\n({raw[i, j]:.0f} persons)", ha="center",
                        va="center", fontsize=7, color="white" if dark else "black")  # fmt: skip
        fig.colorbar(im, ax=ax, label="restricted innocents per 100,000")
    else:
        xs = study.sweep[keys[0]]
        found = {json.dumps(c["values"][0]): c for c in cells}
        means = [found[json.dumps(x)]["mean"] if json.dumps(x) in found else np.nan for x in xs]
        ax.plot([str(x) for x in xs], means, marker="o")
        for i, x in enumerate(xs):
            hit = found.get(json.dumps(x))
            if hit is not None:
                ax.annotate(f"{hit['raw']:.0f} persons", (i, hit["mean"]), fontsize=7,
                            color="#999" if hit["small"] else "black")  # fmt: skip
        ax.set_xlabel(keys[0])
        ax.set_ylabel("restricted innocents per 100,000")
    return (
        f"Sweep over {study.sweep['run']}",
        _png(fig),
        "Restricted innocents at the end, mean over seeds, for each grid point, with the mean "
        f"number of simulated persons behind it; cells standing for fewer than {MIN_COUNT} "
        "simulated persons are greyed out (too few to quote). The table below gives each "
        "point's interval.",
    )


# --------------------------------------------------------------------------------------------
# Calibration


def calibration(out: Path, results: pa.Table) -> list[dict[str, Any]]:
    """For runs of ``national-2013``: the model's national figures at the published dates."""
    rows = []
    base = results.filter(pc.equal(results["point"], "{}")).to_pylist()
    for r in base:
        if r["scenario"] != "national-2013":
            continue
        f = out / "runs" / r["run"] / "base" / f"seed-{r['seed']}" / "metrics.parquet"
        t = pq.read_table(f)
        days = t.column("date").to_pylist()
        for when, targets in CALIBRATION.items():
            if when not in days:
                continue
            i = days.index(when)
            model = {}
            for key in targets:
                col = t.column(key).to_numpy()
                model[key] = (col[i] if key == "listed_ever" else col[: i + 1].sum()) * r["scale"]
            rows.append(
                {
                    "run": r["run"],
                    "seed": r["seed"],
                    "date": when,
                    "model": model,
                    "targets": targets,
                }
            )
    return rows


# --------------------------------------------------------------------------------------------
# Restricted innocents by cause

CAUSES: dict[str, tuple[str, str]] = {
    "wrong_record": (
        "A wrong record",
        "a record of conduct attributed to the wrong person (an identity mix-up, a data error)",
    ),
    "relative_or_contact": (
        "A relative or contact",
        "restricted through a family or household member's, or a friend's, records or listing",
    ),
    "camera_misattribution": (
        "Camera misattribution",
        "a camera's record of someone else's conduct attributed to the person",
    ),
    "lawful_conduct": (
        "Lawful conduct scored",
        "the person's own lawful conduct (speech, petitions, purchases...) recorded and counted "
        "against them",
    ),
}

UNCOUNTED = (
    "not measured: these results come from a simulator that counted restricted innocents in "
    "total, not by cause; run the study again"
)
_NOT_ROLES = {"family", "household", "friends", "contacts", "colleagues"}


def innocent_causes(
    index: Any, scenario: dict[str, Any], regime: dict[str, Any] | None = None
) -> dict[str, tuple[str, str]]:
    """Per cause, whether a regime's catalogs (``index``) over its resolved ``scenario`` (a
    conduct scenario, or a world with the ``regime``'s observations) can restrict an innocent
    person by it: ``("possible", "")`` or ``("impossible", why)``."""
    from socialcredit.sim.folding import counted_against

    out: dict[str, tuple[str, str]] = {}
    wrong = _found(scenario, "wrong_share")
    out["wrong_record"] = (
        ("possible", "") if wrong > 0 else
        ("impossible", "the scenario attributes no record to the wrong person (wrong_share 0)")
    )  # fmt: skip
    types = index.record_types if index is not None else {}
    vias = {via for sch in (index.schemes.values() if index else ())
            for _rule, _dim, via in _rules_of(sch)} | {
        role.value for memo in (index.memoranda.values() if index else ())
        for role in memo.extends_to}  # fmt: skip
    linked = float(scenario.get("household_size", 1) or 1) > 1 or float(
        scenario.get("friends", 0) or 0) > 0  # fmt: skip
    if not vias & _NOT_ROLES:
        why = "no score or list of this regime reaches anyone but the subject and legal roles"
        out["relative_or_contact"] = ("impossible", why)
    elif not linked:
        out["relative_or_contact"] = ("impossible", "the scenario gives no one a household")
    else:
        out["relative_or_contact"] = ("possible", "")
    # what the regime records, and how: a world's observations, or a scenario's rates
    observed: dict[str, float] = {}  # record type -> misattribution share
    if scenario.get("kind") == "world":
        cams = (regime or {}).get("cameras") or {}
        for o in (regime or {}).get("observe", []):
            code = o["record_type"]
            camera = code in types and getattr(types[code].source, "value", "") == "camera"
            seen = cams.get("coverage", 0) if camera else o.get("detection")
            if seen is None or float(seen) > 0:
                observed[code] = float(cams.get("misattribution", 0)) if camera else 0.0
    else:
        mis = float(scenario.get("camera_misattribution", 0) or 0)
        for code, rate in (scenario.get("records_per_year", {}) or {}).items():
            if (max(rate.values(), default=0) if isinstance(rate, dict) else rate) > 0:
                observed[code] = mis
    cameras = {code: mis for code, mis in observed.items() if code in types
               and getattr(types[code].source, "value", "") == "camera"}  # fmt: skip
    if not cameras:
        out["camera_misattribution"] = (
            "impossible",
            "no record this regime makes comes from a camera",
        )
    elif max(cameras.values()) <= 0:
        out["camera_misattribution"] = (
            "impossible",
            "the regime's cameras name no one by mistake (misattribution 0)",
        )
    else:
        out["camera_misattribution"] = ("possible", "")
    lawful = sorted(counted_against(index) & set(observed)) if index is not None else []
    out["lawful_conduct"] = (
        ("possible", "") if lawful else
        ("impossible", "no lawful conduct is recorded against anyone in this regime")
    )  # fmt: skip
    return out


def _found(tree: Any, key: str) -> float:
    """The largest number under ``key`` anywhere in a resolved scenario (0 if none)."""
    if isinstance(tree, dict):
        here = [float(v) for k, v in tree.items() if k == key and isinstance(v, int | float)]
        return max([*here, *(_found(v, key) for v in tree.values())], default=0.0)
    if isinstance(tree, list):
        return max((_found(v, key) for v in tree), default=0.0)
    return 0.0


def _rules_of(scheme: Any) -> list[tuple[Any, int, str | None]]:
    from socialcredit.rules.compile import rules_of

    return rules_of(scheme)


def innocents_by_cause(
    results: pa.Table,
    runs: Sequence[str],
    causes: dict[str, dict[str, tuple[str, str]]],
) -> list[dict[str, Any]]:
    """One row per cause, one cell per run: the restricted innocents the simulator counted
    under it (``restricted_innocents.<cause>``, as every other figure: mean, interval, count),
    or why there is none (``na``: the regime cannot restrict an innocent that way;
    ``unmeasured``: the results predate the count by cause). Nothing is estimated."""
    base = results.filter(pc.equal(results["point"], "{}")).to_pylist()
    out = []
    for cause, (label, meaning) in CAUSES.items():
        key = f"restricted_innocents.{cause}"
        cells: dict[str, dict[str, Any] | None] = {}
        for run in runs:
            mine = [r for r in base if r["run"] == run]
            if not mine:
                cells[run] = None
                continue
            kind, why = causes.get(run, {}).get(
                cause, ("impossible", "the regime's catalogs did not load"))  # fmt: skip
            if kind == "impossible":
                cells[run] = {"na": why}
                continue
            cell = _cell(mine, key, "stock")
            cells[run] = cell if cell is not None else {"unmeasured": UNCOUNTED}
        out.append({"key": cause, "label": label, "meaning": meaning, "cells": cells})
    return out


def export_causes(out: Path, rows: list[dict[str, Any]], runs: Sequence[str]) -> None:
    """``innocents_by_cause.csv``: per cause and run, the figure or why there is none."""
    import pyarrow.csv as pacsv

    flat = []
    for row in rows:
        for run in runs:
            cell = row["cells"].get(run)
            if cell is None:
                continue
            number = "na" not in cell and "unmeasured" not in cell
            flat.append({
                "cause": row["key"], "label": row["label"], "meaning": row["meaning"],
                "run": run, "unit": UNITS["stock"],
                "mean": cell["mean"] if number else None,
                "ci95_half_width": cell["half"] if number else None,
                "simulated_count": cell["raw"] if number else None,
                "not_measured": cell.get("unmeasured"), "not_applicable": cell.get("na"),
            })  # fmt: skip
    schema = pa.schema(
        [("cause", pa.string()), ("label", pa.string()), ("meaning", pa.string()),
         ("run", pa.string()), ("unit", pa.string()), ("mean", pa.float64()),
         ("ci95_half_width", pa.float64()), ("simulated_count", pa.float64()),
         ("not_measured", pa.string()), ("not_applicable", pa.string())]
    )  # fmt: skip
    pacsv.write_csv(pa.Table.from_pylist(flat, schema=schema), out / "innocents_by_cause.csv")


def _causes_html(rows: list[dict[str, Any]], runs: Sequence[str], notes: dict[str, int]) -> str:
    e = html.escape
    parts = [
        "<section id='by-cause'><h2>Restricted innocents by cause</h2><p>Who the innocents "
        "restricted at the end are, by why they are restricted ("
        f"{e(UNITS['stock'])}). A restricted innocent is counted under every cause found among "
        "what the rules count for them on the last day (records not annulled by an objection; "
        "a household member's listing; relatives' or friends' records their score counts): "
        "someone with two causes is counted twice, so the rows can add up to more than the "
        "innocents. <b>n/a</b>: the regime cannot restrict an innocent that way (the reason in "
        "the notes).</p><table class='sbs causes'><thead><tr>"
        "<th>cause</th>" + "".join(f"<th>{e(r)}</th>" for r in runs) + "</tr></thead><tbody>"
    ]
    for row in rows:
        cells = []
        for run in runs:
            cell = row["cells"].get(run)
            if cell is not None and "unmeasured" in cell:
                why = e(cell["unmeasured"])
                short = e(cell["unmeasured"].split(":", 1)[0])
                cells.append(f"<td class='unmeasured' title='{why}'>{short}"
                             f"<span class='why'>{why}</span></td>")  # fmt: skip
            else:
                cells.append(_cell_html(cell, "stock", notes))
        parts.append(
            f"<tr id='cause-{e(row['key'])}'><th scope='row'>{e(row['label'])}"
            f"<span class='def'>{e(row['meaning'])}</span></th>{''.join(cells)}</tr>"
        )
    parts.append("</tbody></table></section>")
    return "".join(parts)


def regime_causes(
    study: Study, scenarios: dict[str, dict[str, Any]], regimes: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Per run, :func:`innocent_causes` of its regime over its resolved scenario."""
    from socialcredit.errors import SocialCreditError
    from socialcredit.sim.regime import load_any_regime

    out: dict[str, Any] = {}
    for run in study.runs:
        try:
            index = load_any_regime(run.regime).loaded.index
        except (SocialCreditError, OSError):
            continue
        out[run.name] = innocent_causes(index, scenarios.get(run.name, {}), regimes.get(run.name))
    return out


# --------------------------------------------------------------------------------------------
# The regimes in plain words

SOURCES_DOC = "docs/sources.md"


class RegimeText(NamedTuple):
    what: str
    sources: str
    assumed: str
    key_figures: tuple[str, ...]
    from_catalogs: bool = False
    """``what`` and ``sources`` go on with what the regime's catalogs say of each list it
    enters (:func:`carried_lists`, :func:`list_bases`), so that they stay true as the
    catalogs change."""


REGIMES: dict[str, RegimeText] = {
    "law-bound": RegimeText(
        what="The lists the law sets up, as their catalogs state them (who is listed on what "
        "ground, for how long, how one gets off and what a listing restricts); on every list "
        "an upheld objection voids a wrong record.",
        sources="The published national counts of the court's listings, flight and rail "
        "restrictions and debts performed, and of the market regulator's non-filers, against "
        "which the scenario is calibrated (see the calibration table).",
        assumed="How often people refuse judgments year by year (fitted to the published "
        "listings), how often they book flights and trains, how many records are attributed to "
        "the wrong person, and how often objections succeed: none of these is published; nor "
        "are most rates of the other cases it records (the scenario's file gives each).",
        key_figures=("listed_now", "restricted_innocents", "measure.restrict.flight.denials"),
        from_catalogs=True,
    ),
    "pilot-2018": RegimeText(
        what="A pilot city's points score (Rongcheng-style, 1000 points, grades AAA to D) "
        "extended with the overreach that the State Council curbed in 2020: points deducted for "
        "petitioning, littering, unsorted waste and refusing a mask, points for donating blood, "
        "and a local blacklist of grade-D residents with restrictions other agencies apply. The "
        "registry's checker refuses this catalog; it runs here only over synthetic people.",
        sources="Rongcheng's personal credit measures and their Attachment 1 (deductions); "
        "Guobanfa [2020] No. 49 (the overreach it curbed).",
        assumed="The point values of the overreach, the rates of every kind of conduct, and "
        "that petitions come from a few repeat petitioners; the base score and grade bands "
        "are unconfirmed for Rongcheng.",
        key_figures=("listed_now", "restricted_innocents", "listed_ever"),
    ),
    "unified-score": RegimeText(
        what="The single national score of the Western press, which does not exist: one score "
        "from everything (critical posts, petitions, games and alcohol bought, jaywalking "
        "caught by cameras, court debts), lowered by family members' and friends' records, "
        "with no expiry and no appeal; a low grade puts a person on a list whose restrictions "
        "reach the whole household. The registry's checker refuses it; it runs here only over "
        "synthetic people, to measure what it would do.",
        sources="The press caricature it models; the court refusal rate follows the court "
        "list's scenario. There is no real system to calibrate it against.",
        assumed="Every rate of conduct (chosen to be ordinary), household size 3, five friends "
        "each, cameras catching 30% of jaywalking.",
        key_figures=("restricted_now", "restricted_innocents", "innocent_denials"),
    ),
    "sesame": RegimeText(
        what="An opt-in private score (Sesame-like, 350 to 950) from credit history, behaviour "
        "with the operator, contracts and identity checks; at 650 or more a member rents bikes "
        "and goods without a deposit. No one is listed or restricted by it.",
        sources="Reported features of Sesame Credit: range, dimensions and weights (unofficial), "
        "76% of Hangzhou residents enrolled, 40% deposit-qualified.",
        assumed="The rates of repayments, arrears, breaches and verifications, fitted by hand "
        "so that about 40% of the population qualifies.",
        key_figures=(
            "measure.incentive.sesame.deposit_free_bikes.held",
            "gini",
            "mobility",
        ),
    ),
    "jinan-licence": RegimeText(
        what="Jinan's dog-owner licence: 12 points over two years, deducted for offences and "
        "for a missed renewal; an exhausted licence means the dog is confiscated and the owner "
        "must pass a course and a test. Volunteering restores points.",
        sources="Jinan's licence rules of January 2017 as publicly reported.",
        assumed="About 100,000 licences (unconfirmed), how often owners are caught, the share "
        "missing the annual renewal, and how often owners who lost points volunteer.",
        key_figures=("listed_ever", "listed_now", "records"),
    ),
}

DEFAULT_FIGURES = ("listed_now", "restricted_innocents", "denials", "restricted_now", "records")

_WAYS = {
    "fulfilment": "once the obligation is performed",
    "creditor_request": "at the creditor's request",
    "score_recovery": "when the score recovers",
    "course_passed": "when a course and test are passed",
}
_KINDS = {
    ("person",): "persons",
    ("organisation",): "organisations",
    ("person", "organisation"): "persons and organisations",
}
_SHOWN_MEASURES = 4


def recorded(
    index: Any, scenario: dict[str, Any], regime: dict[str, Any] | None = None
) -> dict[str, tuple[str | None, str | None]]:
    """Record type -> (since, until) of the records a regime makes over its resolved
    ``scenario``: a world's observations by the ``regime`` (dates as the files give them), a
    conduct scenario's rates (undated); with neither, every record type of ``index``."""
    out: dict[str, tuple[str | None, str | None]] = {}
    if scenario.get("kind") == "world":
        for o in (regime or {}).get("observe", []):
            if o.get("detection") is None or float(o["detection"]) > 0:
                since, until = o.get("since"), o.get("until")
                out[o["record_type"]] = (
                    str(since) if since else None, str(until) if until else None)  # fmt: skip
    elif scenario.get("records_per_year"):
        for code, rate in scenario["records_per_year"].items():
            if (max(rate.values(), default=0) if isinstance(rate, dict) else rate) > 0:
                out[code] = (None, None)
    else:
        out = {code: (None, None) for code in index.record_types}
    return out


def _short(title: str) -> str:
    """A title without its parenthesis, in running text ("No air travel" -> "no air travel",
    "EMU" kept)."""
    head = title.split(" (", 1)[0].strip()
    return head[:1].lower() + head[1:] if head[1:2].islower() else head


def _in_words(items: list[str], last: str) -> str:
    """``a, b or c``."""
    return f"{', '.join(items[:-1])} {last} {items[-1]}" if len(items) > 1 else "".join(items)


def _months(months: int) -> str:
    return f"{months // 12} year{'s' if months > 12 else ''}" if months % 12 == 0 else (
        f"{months} months")  # fmt: skip


def carried_lists(index: Any, made: dict[str, tuple[str | None, str | None]]) -> str:
    """What each list the records ``made`` (:func:`recorded`) enter is, read from the
    catalogs: who it lists and by whom, each ground with its term and ways off (a fixed
    term ends by itself; an objection's voiding a record is every list's and left out), and
    the measures its memoranda attach, with the roles they reach. Grounds whose records are
    not made, and extensions by them, are left out: a regime over a world carries only what
    it records."""
    sentences = []
    for lst in index.catalog.lists:
        entering = [c for c in lst.entry.record_types if c in made]
        if not entering:
            continue
        # grounds alike (one term, recorded over the same dates, repair after as long) as one
        groups: dict[tuple[int, tuple[str | None, str | None], int], list[str]] = {}
        for code in entering:
            term = next((i for i, t in enumerate(lst.terms) if code in t.record_types), -1)
            after = index.record_types[code].publication.min_months
            groups.setdefault((term, made[code], after), []).append(code)
        grounds = []
        for (_term, (since, until), after), codes in groups.items():
            months, ways = lst.term_for(codes[0])
            off = [_WAYS[w.value] for w in ways if w.value in _WAYS]
            if any(w.value == "repair" for w in ways):
                off.append(f"by credit repair after {_months(after)}" if after else
                           "by credit repair")  # fmt: skip
            when = (f"recorded {since} to {until}" if since and until else
                    f"recorded from {since}" if since else
                    f"recorded to {until}" if until else "")  # fmt: skip
            length = _months(months) if months is not None else "no fixed term"
            extended = {c: m for c, m in lst.extensions_for(codes[0]).items() if c in made}
            if extended and months is not None:
                longest = max(extended.values())
                length += f" (extended by up to {_months(longest)} on further grounds)"
            titles = " or ".join(_short(index.record_types[c].title) for c in codes)
            grounds.append(
                f"{titles}{f' ({when})' if when else ''}: {length}"
                + (f", off {_in_words(off, 'or')}" if off else "")
            )
        measures: dict[str, Any] = {}
        roles: list[str] = []
        for memo in index.memoranda_by_list.get(lst.id, ()):
            for mid in memo.measures:
                if mid in index.measures:
                    measures.setdefault(mid, index.measures[mid])
            roles += [r.value for r in memo.extends_to if r.value not in roles]
        effects = []
        for kind, word in (("restriction", "restrictions"), ("incentive", "incentives")):
            names = [_short(m.title) for m in measures.values() if m.kind.value == kind]
            if names:
                shown = "; ".join(names[:_SHOWN_MEASURES])
                more = len(names) - _SHOWN_MEASURES
                effects.append(f"{word}: {shown}" + (f" and {more} more" if more > 0 else ""))
        reach = ""
        if roles:
            named = _in_words([r.replace("_", " ") for r in roles], "and")
            reach = f", reaching a listed organisation's {named} too"
        who = _KINDS.get(tuple(lst.subject_kinds), "no subjects")
        by = index.authorities.get(lst.authority) if lst.authority else None
        head = f"{lst.title} ({who}{f'; {by.title}' if by is not None else ''})"
        tail = ("; " + "; ".join(effects) + reach) if effects else ""
        sentences.append(f"{head}: {'; '.join(grounds)}{tail}.")
    return " ".join(sentences)


def list_bases(index: Any, made: dict[str, tuple[str | None, str | None]]) -> str:
    """The legal basis of each list the records ``made`` enter, as its catalog names it."""
    bases = [f"{lst.title}: {lst.legal_basis}" for lst in index.catalog.lists
             if lst.legal_basis and any(c in made for c in lst.entry.record_types)]  # fmt: skip
    return ("Each list's legal basis as its catalog names it: " + "; ".join(bases) + ".") if (
        bases) else ""  # fmt: skip


def _regime_index(regime: str) -> Any:
    """The merged catalogs of a regime, or ``None`` where they cannot be read here."""
    from socialcredit.errors import SocialCreditError
    from socialcredit.sim.regime import load_any_regime

    try:
        return load_any_regime(regime).loaded.index
    except (SocialCreditError, OSError):
        return None


def regime_sections(
    runs: Sequence[str],
    table: list[dict[str, Any]],
    info: dict[str, dict[str, Any]],
    scenarios: dict[str, dict[str, Any]],
    regimes: dict[str, dict[str, Any]],
) -> list[str]:
    """A section per run a non-specialist can read: what the regime is, its sources, what was
    assumed, and three figures with their definitions."""
    e = html.escape
    rows = {r["key"]: r for r in table}
    parts = []
    for run in runs:
        r = info.get(run)
        if r is None:
            continue
        sc = scenarios.get(run, {})
        spec = regimes.get(run, {})
        text = REGIMES.get(r["regime"])
        what = text.what if text else (spec.get("description") or "A regime of its catalogs.")
        sources = text.sources if text else "The catalogs named below."
        index = _regime_index(r["regime"]) if text is not None and text.from_catalogs else None
        if index is not None:
            made = recorded(index, sc, spec)
            what = f"{what} {carried_lists(index, made)}".strip()
            sources = f"{list_bases(index, made)} {sources}".strip()
        assumed = text.assumed if text else "The scenario's rates (see its file)."
        listed = ", ".join(e(x) for x in sc.get("sources", [])) or "none named"
        parts.append(
            f"<section class='regime'><h3>{e(run)}: {e(r['regime'])} over {e(r['scenario'])}"
            f"</h3><p><b>What it is.</b> {e(what)}</p><p><b>Sources.</b> {e(sources)} The "
            f"scenario file cites: {listed}. Sourced facts: {SOURCES_DOC}.</p>"
            f"<p><b>What was assumed.</b> {e(assumed)} {e(sc.get('description', ''))} "
            f"({r['population']:,} simulated persons standing for {r['represented']:,}, "
            f"{e(r['start'])} to {e(r['end'])}; catalogs: "
            f"{e(', '.join(spec.get('catalogs', [])))}.)</p><ul class='key'>"
        )
        wanted = (*(text.key_figures if text else ()), *DEFAULT_FIGURES)
        shown = 0
        for key in dict.fromkeys(wanted):
            row = rows.get(key)
            cell = row["cells"].get(run) if row else None
            if row is None or cell is None or "na" in cell:
                continue
            unit = UNITS[row["how"]]
            parts.append(
                f"<li><b>{_cell_text(cell, row['how'])}</b> {e(row['label'].lower())} "
                f"({unit}). <span class='def'>{e(row['definition'])}</span></li>"
            )
            shown += 1
            if shown == 3:
                break
        parts.append("</ul></section>")
    return parts


# --------------------------------------------------------------------------------------------
# The page


INTERVAL = (
    "± is the half-width of a 95% confidence interval for the mean over seeds (Student's t "
    "with n-1 degrees of freedom, n the seeds). It covers only the simulation's own chance: "
    "which simulated people act, on which days, with which outcomes, for the assumed rates. It "
    "does not cover the uncertainty of those rates (most are assumptions, see each regime), of "
    "the model's structure, or of scaling to a real population. With two or three seeds it is "
    "wide and may span zero (marked 0?); with one seed there is none. Each cell also gives "
    "the mean number "
    "of simulated persons or events behind it; cells standing for fewer than "
    f"{MIN_COUNT} are greyed out: too few to quote."
)


def _cell_text(cell: dict[str, Any], how: str) -> str:
    return _fmt(cell["mean"], cell["half"], how, seeds=cell["seeds"])


def _cell_html(
    cell: dict[str, Any] | None, how: str, notes: dict[str, int], suffix: str = ""
) -> str:
    e = html.escape
    if cell is None:
        return "<td class='na' title='not run'>—</td>"
    if "na" in cell:
        n = notes.setdefault(cell["na"], len(notes) + 1)
        return f"<td class='na' title='not applicable: {e(cell['na'])}'>n/a<sup>{n}</sup></td>"
    seeds = f"{cell['seeds']} seed{'s' if cell['seeds'] != 1 else ''}"
    behind = "" if cell["raw"] is None else f" · {cell['raw']:,.1f} simulated"
    title = ""
    cls = ""
    mark = ""
    if cell["small"]:
        cls = " class='small'"
        title = f" title='fewer than {MIN_COUNT} simulated persons or events: too few to quote'"
    elif spans_zero(cell):
        mark = "<sup title='the interval includes zero'>0?</sup>"
        title = " title='the 95% interval includes zero: not told apart from zero by these seeds'"
    return (
        f"<td{cls}{title}>{_cell_text(cell, how)}{mark}<span class='n'>{seeds}{behind}</span></td>"
    )


def spans_zero(cell: dict[str, Any]) -> bool:
    """Whether a positive mean's interval (over more than one seed) reaches zero."""
    return bool(cell["seeds"] > 1 and cell["mean"] > 0 and cell["mean"] - cell["half"] <= 0)


def export(out: Path, results: pa.Table, table: list[dict[str, Any]], runs: Sequence[str]) -> None:
    """The results beside the report: every simulation's row (``results.parquet``,
    ``results.csv``) and the side-by-side table with definitions (``table.csv``)."""
    import pyarrow.csv as pacsv

    pq.write_table(results, out / "results.parquet")
    pacsv.write_csv(results, out / "results.csv")
    rows = []
    for row in table:
        for run in runs:
            cell = row["cells"].get(run)
            if cell is None:
                continue
            rows.append(
                {
                    "figure": row["key"],
                    "label": row["label"],
                    "unit": UNITS[row["how"]],
                    "definition": row["definition"],
                    "run": run,
                    "mean": None if "na" in cell else cell["mean"],
                    "ci95_half_width": None if "na" in cell else cell["half"],
                    "seeds": None if "na" in cell else cell["seeds"],
                    "simulated_count": None if "na" in cell else cell["raw"],
                    "too_few_to_quote": None if "na" in cell else cell["small"],
                    "interval_includes_zero": None if "na" in cell else spans_zero(cell),
                    "not_applicable": cell.get("na"),
                }
            )
    schema = pa.schema(
        [("figure", pa.string()), ("label", pa.string()), ("unit", pa.string()),
         ("definition", pa.string()), ("run", pa.string()), ("mean", pa.float64()),
         ("ci95_half_width", pa.float64()), ("seeds", pa.int64()),
         ("simulated_count", pa.float64()), ("too_few_to_quote", pa.bool_()),
         ("interval_includes_zero", pa.bool_()),
         ("not_applicable", pa.string())]
    )  # fmt: skip
    pacsv.write_csv(pa.Table.from_pylist(rows, schema=schema), out / "table.csv")


def _resolved(out: Path, study: Study) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each run's resolved scenario and regime file (its base point, first seed)."""
    sims = json.loads((out / "resolved.json").read_text()).get("simulations", {})
    scenarios, regimes = {}, {}
    for run in study.runs:
        sim = sims.get(f"{run.name}__base__seed-{study.seeds[0]}")
        if sim is not None:
            scenarios[run.name] = sim["scenario"]
            regimes[run.name] = sim["regime"]
    return scenarios, regimes


BASELINE = "law-bound"
"""The regime every other is compared with, where runs share a world, a period and seeds."""


def paired_differences(results: pa.Table, runs: Sequence[str]) -> dict[str, Any] | None:
    """Each run against the law-bound baseline over the same world, period and seeds: per
    headline figure, the mean of the per-seed differences (run minus baseline, same seed: the
    same people doing the same things) and its 95% interval; None where no run is the
    baseline or no other run shares its world and seeds."""
    base_rows = results.filter(pc.equal(results["point"], "{}")).to_pylist()
    by_run: dict[str, dict[int, dict[str, Any]]] = {}
    for r in base_rows:
        by_run.setdefault(r["run"], {})[r["seed"]] = r
    baseline = next((run for run in runs
                     if next(iter(by_run.get(run, {}).values()), {}).get("regime") == BASELINE),
                    None)  # fmt: skip
    if baseline is None:
        return None
    base = by_run[baseline]
    first = next(iter(base.values()))
    same = [run for run in runs if run != baseline and run in by_run and all(
        r["scenario"] == first["scenario"] and r["start"] == first["start"]
        and r["end"] == first["end"] for r in by_run[run].values()
    ) and set(by_run[run]) == set(base)]  # fmt: skip
    if not same:
        return None
    rows = []
    for label, key, how in ROWS:
        if how == "share":
            continue
        cells: dict[str, dict[str, Any] | None] = {}
        for run in same:
            diffs = []
            for seed, mine in by_run[run].items():
                a, b = _value(mine, key, how), _value(base[seed], key, how)
                if a is not None and b is not None:
                    diffs.append(a - b)
            if len(diffs) != len(base):
                cells[run] = None
                continue
            mean, half = ci(diffs)
            cells[run] = {"mean": mean, "half": half, "seeds": len(diffs)}
        if any(c is not None for c in cells.values()):
            rows.append({"label": label, "key": key, "how": how, "cells": cells})
    return {"baseline": baseline, "world": first["scenario"], "runs": same, "rows": rows}


# --------------------------------------------------------------------------------------------
# Where a regime is local: its city's own figures


def local_cities(regimes: dict[str, dict[str, Any]]) -> list[str]:
    """The cities some run's regime records in by name (``where`` of its observations), in
    the order first named."""
    names: list[str] = []
    for regime in regimes.values():
        for o in regime.get("observe", []) or []:
            where = o.get("where", "nation")
            if where != "nation" and where not in names:
                names.append(where)
    return names


def in_city(results: pa.Table, city: str) -> pa.Table | None:
    """The result rows as the city's own (``t_city.<city>.*``): its simulated persons as the
    population and its totals as the totals; rows of runs without the city are left out. None
    if no run has it (a province, or results from before the table per city)."""
    prefix = f"t_city.{city}."
    if f"{prefix}persons" not in results.column_names:
        return None
    rows = []
    for r in results.to_pylist():
        persons = r.get(f"{prefix}persons")
        if not persons:
            continue
        mine = {k: v for k, v in r.items() if not k.startswith("t_") and k not in _SHARES}
        mine["population"] = persons
        mine["has_list"] = any(k.startswith("t_list.") and v is not None for k, v in r.items())
        mine |= {f"t_{k.removeprefix(prefix)}": v for k, v in r.items()
                 if k.startswith(prefix) and k != f"{prefix}persons"}  # fmt: skip
        rows.append(mine)
    return pa.Table.from_pylist(rows) if rows else None


_SHARES = {key for _label, key, how in ROWS if how == "share"}


def city_sections(
    results: pa.Table,
    runs: Sequence[str],
    scenarios: dict[str, dict[str, Any]],
    regimes: dict[str, dict[str, Any]],
    notes: dict[str, int],
) -> list[str]:
    """Per city where a regime is local: every run's figures for the city's own people (per
    100,000 of them) and, paired by seed, each run's difference from the law-bound baseline
    there."""
    e = html.escape
    parts: list[str] = []
    for city in local_cities(regimes):
        table = in_city(results, city)
        if table is None:
            continue
        local = [r for r in runs if r in set(table.column("run").to_pylist())]
        rows = [r for r in side_by_side(table, local, scenarios, None, regimes)
                if r["how"] != "share"]  # fmt: skip
        persons = sorted({int(p) for p in table.column("population").to_pylist()})
        which = [run for run in local if any(
            o.get("where") == city for o in regimes.get(run, {}).get("observe", []))]  # fmt: skip
        parts.append(
            f"<section id='city-{e(city)}'><h2>In {e(city.title())}</h2><p>The figures for "
            f"the simulated people of {e(city.title())} alone "
            f"({' / '.join(f'{p:,}' for p in persons)} persons per run), per 100,000 of them: "
            f"where {e(', '.join(which))} {'is' if len(which) == 1 else 'are'} local, what the "
            "national figures dilute. The same people in every run.</p>"
        )
        parts.append(
            "<table class='sbs'><thead><tr><th>figure and unit</th>"
            + "".join(f"<th>{e(r)}</th>" for r in local) + "</tr></thead><tbody>"
        )  # fmt: skip
        for row in rows:
            cells = "".join(_cell_html(row["cells"].get(r), row["how"], notes) for r in local)
            parts.append(
                f"<tr><th scope='row'>{e(row['label'])}<span class='unit'>"
                f"{e(UNITS[row['how']])}</span></th>{cells}</tr>"
            )
        parts.append("</tbody></table>")
        paired = paired_differences(table, local)
        if paired is not None:
            base = paired["baseline"]
            parts.append(
                f"<table class='sbs paired'><caption>Paired by seed, minus {e(base)} in "
                f"{e(city.title())}</caption><thead><tr><th>figure</th>"
                + "".join(f"<th>{e(r)} minus {e(base)}</th>" for r in paired["runs"])
                + "</tr></thead><tbody>"
            )
            for row in paired["rows"]:
                cells = "".join(_diff_html(row["cells"].get(r)) for r in paired["runs"])
                parts.append(f"<tr><th scope='row'>{e(row['label'])}</th>{cells}</tr>")
            parts.append("</tbody></table>")
        parts.append("</section>")
    return parts


def _diff_html(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "<td>n/a</td>"
    mean, half = cell["mean"], cell["half"]
    cls = "" if half < abs(mean) else " class='small'"
    return f"<td{cls}>{mean:+,.1f} ± {half:,.1f}</td>"


def _paired_html(paired: dict[str, Any] | None) -> list[str]:
    e = html.escape
    if paired is None:
        return [
            "<section><h2>Against the law-bound baseline</h2><p class='meta'>No paired "
            "comparison: these runs do not share one world, period and seeds with a law-bound "
            "run, so a difference between them cannot be put down to the regime alone.</p>"
            "</section>"
        ]
    runs, base = paired["runs"], paired["baseline"]
    parts = [
        "<section><h2>Against the law-bound baseline, paired by seed</h2>",
        f"<p>Every run below and the baseline ({e(base)}) ran over the same world "
        f"({e(paired['world'])}), the same period and the same seeds: the same synthetic people "
        "doing the same things, judged by different rulebooks. Each cell is the regime's "
        "figure minus the baseline's, per 100,000 simulated persons, averaged over the seeds, "
        "with its 95% interval from the paired seeds (the simulation's own chance; not the "
        "assumed rates). A difference whose interval excludes zero is the regime's doing in "
        "this model.</p>",
        "<table class='sbs'><thead><tr><th>figure and unit</th>"
        + "".join(f"<th>{e(r)} minus {e(base)}</th>" for r in runs)
        + "</tr></thead><tbody>",
    ]
    for row in paired["rows"]:
        cells = []
        for run in runs:
            cells.append(_diff_html(row["cells"].get(run)))
        parts.append(
            f"<tr><th scope='row'>{e(row['label'])}<span class='unit'>"
            f"{e(UNITS[row['how']])}</span></th>{''.join(cells)}</tr>"
        )
    parts.append(
        "</tbody></table><p class='meta'>Greyed: the interval includes zero.</p></section>"
    )
    return parts


def export_paired(out: Path, paired: dict[str, Any] | None) -> None:
    """``paired.csv`` beside the page: run, baseline, figure, unit, mean difference, the half
    of its 95% interval and the seeds (no rows where nothing pairs)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", "baseline", "figure", "unit", "difference", "half_interval_95", "seeds"])
    if paired is not None:
        for row in paired["rows"]:
            for run, c in row["cells"].items():
                if c is not None:
                    w.writerow([run, paired["baseline"], row["key"], UNITS[row["how"]],
                                f"{c['mean']:.6g}", f"{c['half']:.6g}", c["seeds"]])  # fmt: skip
    (out / "paired.csv").write_text(buf.getvalue(), encoding="utf-8")


def render(out: Path) -> Path:
    """Write ``out/report.html`` from a study folder, and the results beside it (see
    :func:`export`); returns the page's path."""
    study = Study.model_validate_json((out / "study.json").read_text())
    results = read_results(out)
    runs = [r.name for r in study.runs]
    scenarios, regimes = _resolved(out, study)
    table = side_by_side(results, runs, scenarios, item_titles(study), regimes)
    figures = _plots(out, study, results, table)
    calib = calibration(out, results)
    sweep = sweep_cells(results, study)
    info = {r["run"]: r for r in results.filter(pc.equal(results["point"], "{}")).to_pylist()}
    export(out, results, table, runs)
    paired = paired_differences(results, runs)
    export_paired(out, paired)
    e = html.escape
    seeds = f"{len(study.seeds)} seed{'s' if len(study.seeds) != 1 else ''}"
    persons = sorted({r["population"] for r in info.values()})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{e(study.name)}: regimes side by side</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{e(study.name)}: regimes side by side</h1>",
        f"<p>{e(study.description)}</p>",
        f"<p class='meta'>{seeds} per run; "
        f"{' / '.join(f'{p:,}' for p in persons)} simulated persons per run. All people are "
        "synthetic: nothing here is about a real person.</p>",
        "</header><main>",
        "<section class='read'><h2>How to read these numbers</h2><ul>"
        "<li>Rates are per 100,000 simulated persons: at the end of the run for stocks (who is "
        "listed or restricted), per year of the run for flows (records, denials, objections). "
        "Regimes run over worlds of different sizes and periods, so only rates compare.</li>"
        f"<li>{e(INTERVAL)}</li>"
        "<li><b>n/a</b> means the figure does not apply to that regime or its engine does not "
        "count it (the reason is in the numbered notes under the table, and on hover); it is "
        "not zero.</li>"
        "<li>These are the outputs of a model under stated assumptions, not measurements of "
        "China: quote them as what the model gives under those assumptions.</li></ul></section>",
        "<section><h2>The runs</h2><table><thead><tr><th>run</th><th>regime</th>"
        "<th>scenario</th><th>period counted</th><th>warm-up, not counted</th><th>persons</th>"
        "<th>stands for</th></tr></thead><tbody>",
    ]
    for run in runs:
        r = info.get(run)
        if r is None:
            continue
        parts.append(
            f"<tr><td>{e(run)}</td><td>{e(r['regime'])}</td><td>{e(r['scenario'])}</td>"
            f"<td>{e(r['start'])} to {e(r['end'])}</td><td>{_warmup(r)}</td>"
            f"<td>{r['population']:,}</td><td>{r['represented']:,}</td></tr>"
        )
    parts.append(
        "</tbody></table><p class='meta'>A run with a warm-up is simulated from the warm-up's "
        "first day so that its lists and scores are not empty when counting starts; flows "
        "(records, denials...) are counted from the period's start, stocks are read on its "
        "last day, and 'ever listed' counts from the warm-up's first day. A run without one "
        "starts from empty lists.</p></section>"
    )
    parts += _paired_html(paired)
    parts.append("<section><h2>Side by side</h2>")
    head = (
        "<table class='sbs'><thead><tr><th>figure, unit and definition</th>"
        + "".join(f"<th>{e(r)}</th>" for r in runs)
        + "</tr></thead><tbody>"
    )
    notes: dict[str, int] = {}
    headline = [row for row in table if not row["key"].startswith(("list.", "measure."))]
    items = [row for row in table if row["key"].startswith(("list.", "measure."))]
    for rows, caption in ((headline, ""), (items, "Each list and measure of the regimes")):
        if not rows:
            continue
        if caption:
            parts.append(f"<details open><summary><b>{e(caption)}</b></summary>")
        parts.append(head)
        for row in rows:
            cells = "".join(_cell_html(row["cells"].get(r), row["how"], notes) for r in runs)
            parts.append(
                f"<tr id='{e(row['key'])}'><th scope='row'>{e(row['label'])}"
                f"<span class='unit'>{e(UNITS[row['how']])}</span>"
                f"<span class='def'>{e(row['definition'])}</span></th>{cells}</tr>"
            )
        parts.append("</tbody></table>" + ("</details>" if caption else ""))
    if notes:
        parts.append("<ol class='notes'>")
        parts += [f"<li value='{n}'>n/a: {e(reason)}</li>" for reason, n in notes.items()]
        parts.append("</ol>")
    parts.append(f"<p class='meta'>{e(INTERVAL)}</p></section>")
    by_cause = innocents_by_cause(results, runs, regime_causes(study, scenarios, regimes))
    export_causes(out, by_cause, runs)
    before = len(notes)
    parts.append(_causes_html(by_cause, runs, notes))
    if len(notes) > before:  # the reasons first numbered under the causes' table
        parts.append("<ol class='notes'>")
        parts += [f"<li value='{n}'>n/a: {e(reason)}</li>" for reason, n in notes.items()
                  if n > before]  # fmt: skip
        parts.append("</ol>")
    before = len(notes)
    parts += city_sections(results, runs, scenarios, regimes, notes)
    if len(notes) > before:
        parts.append("<ol class='notes'>")
        parts += [f"<li value='{n}'>n/a: {e(reason)}</li>" for reason, n in notes.items()
                  if n > before]  # fmt: skip
        parts.append("</ol>")
    parts.append("<section><h2>The regimes in plain words</h2>")
    parts += regime_sections(runs, table, info, scenarios, regimes)
    parts.append("</section>")
    for title, uri, note in figures:
        parts.append(
            f"<figure><figcaption><h2>{e(title)}</h2><p>{e(note)}</p></figcaption>"
            f"<img src='{uri}' alt='{e(title)}'></figure>"
        )
    if sweep and study.sweep is not None:
        keys = [k for k in study.sweep if k != "run"]
        parts.append(
            f"<section><h2>Sweep over {e(study.sweep['run'])}: every point</h2><table>"
            "<thead><tr>" + "".join(f"<th>{e(k)}</th>" for k in keys)
            + "<th>restricted innocents at the end, per 100,000</th></tr></thead><tbody>"
        )  # fmt: skip
        for c in sweep:
            vals = "".join(f"<td>{e(str(v))}</td>" for v in c["values"])
            parts.append(f"<tr>{vals}{_cell_html(c, 'stock', notes)}</tr>")
        parts.append(f"</tbody></table><p class='meta'>{e(INTERVAL)}</p></section>")
    parts += _assumptions(study, scenarios)
    parts += _sensitivity_html(results, study)
    if calib:
        parts.append(
            "<section><h2>Calibration against the published figures</h2><table><thead><tr>"
            "<th>run, date</th><th>figure</th><th>model (mean over seeds)</th>"
            "<th>published</th><th>difference</th></tr></thead><tbody>"
        )
        groups: dict[tuple[str, date], list[dict[str, Any]]] = {}
        for c in calib:
            groups.setdefault((c["run"], c["date"]), []).append(c)
        for (run, when), cs in sorted(groups.items()):
            for key, target in cs[0]["targets"].items():
                mean, half = ci([float(c["model"][key]) for c in cs])
                spread = f" ± {half / 1e6:,.2f}M" if half else ""
                parts.append(
                    f"<tr><td>{e(run)}, {when}</td><td>{e(CALIBRATION_LABELS[key])}</td>"
                    f"<td>{mean / 1e6:,.2f}M{spread}</td><td>{target / 1e6:,.2f}M</td>"
                    f"<td>{(mean / target - 1) * 100:+.1f}%</td></tr>"
                )
        parts.append(
            "</tbody></table><p class='meta'>Published: SPC figures for September 2018 and "
            f"Global Times 2019-02-28 for the end of 2018 ({SOURCES_DOC}). The model is scaled "
            "to the national population; the scenario was fitted at a million people, and "
            "smaller runs scatter more. The published figures count restriction instances; the "
            "model counts denied bookings.</p></section>"
        )
    parts.append(
        "<section><h2>The data behind this page</h2><p>Beside this page: "
        "<code>results.csv</code> and <code>results.parquet</code> (one row per simulation: "
        "raw totals <code>t_*</code>, scaled totals <code>s_*</code>, the seed, the sweep "
        "point and the hash of its inputs), <code>table.csv</code> (the side-by-side table with "
        "units, definitions, intervals, counts and n/a reasons), "
        "<code>innocents_by_cause.csv</code> (the table of causes, with what is not measured "
        "and why), <code>study.toml</code> (the "
        "study file as written, when run from one), <code>study.json</code> and "
        "<code>resolved.json</code> (every simulation's resolved scenario, regime, catalogs' "
        "content hash, population, period, seed and code version), and <code>runs/</code> "
        "(each simulation's per-day metrics).</p></section>"
    )
    parts.append(
        f"<footer><p>Sourced facts the scenarios and catalogs rest on: {SOURCES_DOC}. "
        "Scenario parameters, their sources and assumptions: docs/scenarios.md. The unified "
        "score and the 2018 pilot are refused by the registry's checker; they run here only "
        "over synthetic people.</p></footer>"
        "</main></body></html>"
    )
    path = out / "report.html"
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(path)
    return path


def sensitivity(results: pa.Table, study: Study) -> list[dict[str, Any]]:
    """The one-at-a-time table: for each parameter and factor, the sensitivity run's key
    figures at that point against its base (mean over seeds, interval, change)."""
    sens = study.sensitivity
    if sens is None:
        return []
    from socialcredit.study.runner import sensitivity_bases

    rows = results.filter(pc.equal(results["run"], sens.run)).to_pylist()
    regime = rows[0]["regime"] if rows else ""
    text = REGIMES.get(regime)
    wanted = [k for k in (*(text.key_figures if text else ()), *DEFAULT_FIGURES) if "." not in k]
    how = {key: h for _label, key, h in ROWS}

    def cell(point: str, key: str) -> dict[str, Any] | None:
        vals = [v for r in rows if r["point"] == point
                if (v := _value(r, key, how[key])) is not None]  # fmt: skip
        if not vals:
            return None
        mean, half = ci(vals)
        raw = None
        if how[key] != "share":
            raw = float(np.mean([float(r[f"t_{key}"]) for r in rows if r["point"] == point]))
        small = raw is not None and raw < MIN_COUNT
        return {"mean": mean, "half": half, "seeds": len(vals), "raw": raw, "small": small}

    figures = [k for k in dict.fromkeys(wanted) if cell("{}", k) is not None][:3]
    out = []
    for key, base in sensitivity_bases(study).items():
        for factor in sens.factors:
            moved = base * factor
            value = round(moved) if isinstance(base, int) else float(f"{moved:.12g}")
            point = json.dumps({key: value}, sort_keys=True)
            cells = {}
            for fig in figures:
                at, ref = cell(point, fig), cell("{}", fig)
                if at is not None and ref is not None:
                    change = (at["mean"] / ref["mean"] - 1) * 100 if ref["mean"] else None
                    cells[fig] = {**at, "change": change}
            out.append({"parameter": key, "base": base, "factor": factor, "value": value,
                        "figures": figures, "cells": cells})  # fmt: skip
    return out


def _sensitivity_html(results: pa.Table, study: Study) -> list[str]:
    table = sensitivity(results, study)
    if not table or study.sensitivity is None:
        return []
    e = html.escape
    figures = table[0]["figures"]
    labels = {key: label for label, key, _how in ROWS}
    hows = {key: how for _label, key, how in ROWS}
    parts = [
        f"<section><h2>Sensitivity: {e(study.sensitivity.run)}, one assumption at a time</h2>"
        "<p>Each row multiplies one assumed parameter by a factor and leaves every other as it "
        "is; each cell is the figure at that point (mean over seeds, its 95% interval) and its "
        "change against the run as it is. A large change means the figure rests on that "
        "assumption.</p><table><thead><tr><th>parameter</th><th>value (base x factor)</th>"
        + "".join(f"<th>{e(labels[f])}</th>" for f in figures)
        + "</tr></thead><tbody>"
    ]
    for row in table:
        cells = ""
        for fig in figures:
            c = row["cells"].get(fig)
            if c is None:
                cells += "<td class='na'>n/a</td>"
                continue
            change = "" if c["change"] is None else f" ({c['change']:+.0f}%)"
            cells += _cell_html(c, hows[fig], {}, suffix=change)
        parts.append(
            f"<tr><td>{e(row['parameter'])}</td><td>{row['value']:g} ({row['base']:g} x "
            f"{row['factor']:g})</td>{cells}</tr>"
        )
    parts.append("</tbody></table></section>")
    return parts


def _warmup(row: dict[str, Any]) -> str:
    since = row.get("warmup_from")
    if not since:
        return "none"
    days = (date.fromisoformat(row["start"]) - date.fromisoformat(since)).days
    return f"{days:,} days from {html.escape(since)}"


def _assumptions(study: Study, scenarios: dict[str, dict[str, Any]]) -> list[str]:
    """What the numbers depend on: each run's assumed rates as resolved (overrides applied)."""
    e = html.escape
    parts = [
        "<section><h2>What the numbers depend on</h2><p>Every figure above follows from the "
        "assumed rates below (the resolved scenario of each run, overrides applied; full detail "
        "in resolved.json). Most have no published source; a figure moves with them. To see "
        "how much, vary them one at a time in a study (<code>[sensitivity]</code>), sweep them "
        "(<code>[sweep]</code>) or run "
        "<code>socialcredit simulate --set KEY=VALUE</code>.</p>"
    ]
    if study.sensitivity is None:
        parts.append(
            "<p id='no-sensitivity'>This study varies no assumption, so this page cannot say "
            "how much its figures move with them. The bundled study <code>assumptions</code> "
            "does, for the unified score's key rates (each halved and doubled, one at a time): "
            "<code>socialcredit study run assumptions --out out/assumptions</code> writes its "
            "report, with the sensitivity table.</p>"
        )
    for run in study.runs:
        sc = scenarios.get(run.name)
        if sc is None:
            continue
        rates = _rates(sc)
        parts.append(
            f"<details><summary><b>{e(run.name)}</b> (scenario {e(sc.get('name', ''))}): "
            f"{len(rates)} parameters</summary><table><tbody>"
        )
        parts += [f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in rates]
        parts.append("</tbody></table></details>")
    parts.append("</section>")
    return parts


def _rates(sc: dict[str, Any]) -> list[tuple[str, str]]:
    """The behavioural parameters of a resolved scenario, as (path, value) lines."""
    skip = {"name", "description", "sources", "kind", "start", "end", "launch"}
    out: list[tuple[str, str]] = []

    def walk(value: Any, path: list[str]) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                walk(v, [*path, str(k)])
        elif not isinstance(value, dict | list):
            out.append((quote_path(path), f"{value:g}" if isinstance(value, float) else str(value)))

    for key, value in sc.items():
        if key not in skip:
            walk(value, [key])
    return out


_CSS = """
body{font:15px/1.5 system-ui,sans-serif;color:#1b1b1b;max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.6rem}h2{font-size:1.15rem;margin:.2rem 0}
.meta{color:#555}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f2f2f2}
td.na{color:#999;text-align:center}td.small{color:#aaa;background:#f4f4f4}
td.unmeasured{color:#7a4b00;text-align:center}
.n,.why,.unit,.def{display:block;font-size:.75rem;color:#777;font-weight:normal}
th .def{max-width:34rem}table.sbs th[scope=row]{text-align:left}.notes{font-size:.85rem;color:#555}
.read{background:#f7f7f2;padding:.2rem 1rem;border-radius:4px}.regime{margin:1rem 0}
figure{margin:1.5rem 0}img{max-width:100%;height:auto}
section{overflow-x:auto}footer{color:#555;border-top:1px solid #ddd;margin-top:2rem}
"""
