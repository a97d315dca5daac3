"""``socialcredit study report``: a study folder as one self-contained HTML page.

Everything is computed from the files ``study run`` wrote: the result rows (one per simulation)
for the side-by-side table, with a 95% confidence interval across seeds (Student's t), and each
run's per-day metrics for the plots. Figures are PNGs embedded as data URIs, so the page can be
mailed or archived as one file. Rates are per 100,000 simulated persons, so regimes over
populations of different sizes compare.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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
    ("Wrongly attributed records", "false_records", "flow"),
    ("Flight bookings denied (court list's engine)", "flight_denials", "flow"),
    ("Train bookings denied (court list's engine)", "train_denials", "flow"),
    ("Uses denied, every measure", "denials", "flow"),
    ("Denials of innocents", "innocent_denials", "flow"),
    ("Objections filed", "objections_filed", "flow"),
    ("Objections upheld", "objections_upheld", "flow"),
    ("Repairs granted", "repairs_granted", "flow"),
    ("Debts performed after listing", "fulfilled_after_listing", "flow"),
    ("Left a list (expiry, repair, performance)", "delisted", "flow"),
    ("Gini of scores (0 = equal)", "gini", "share"),
    ("Mobility: share of those ever at the bottom who climbed out", "mobility", "share"),
)

CALIBRATION = {  # FACTS.md: court list, national, cumulative
    date(2018, 9, 30): {
        "listed_ever": 12.11e6,
        "flight_denials": 14.63e6,
        "train_denials": 5.22e6,
        "fulfilled_after_listing": 3.22e6,
    },
    date(2018, 12, 31): {
        "listed_ever": 12.88e6,
        "flight_denials": 17.46e6,
        "train_denials": 5.47e6,
        "fulfilled_after_listing": 3.51e6,
    },
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


def side_by_side(results: pa.Table, runs: Sequence[str]) -> list[dict[str, Any]]:
    """One row per metric, one cell per run (base points only): mean, CI half-width, n."""
    base = results.filter(pc.equal(results["point"], "{}")).to_pylist()
    out = []
    for label, key, how in (*ROWS, *per_item_rows(results.column_names)):
        cells = {}
        for run in runs:
            vals = [v for r in base if r["run"] == run if (v := _value(r, key, how)) is not None]
            cells[run] = (*ci(vals), len(vals)) if vals else None
        if any(c is not None for c in cells.values()):
            out.append({"label": label, "key": key, "how": how, "cells": cells})
    return out


def _fmt(mean: float, half: float, how: str) -> str:
    if math.isnan(mean):
        return "n/a"
    digits = 3 if how == "share" else (1 if abs(mean) < 100 else 0)
    text = f"{mean:,.{digits}f}"
    return text + (f" ± {half:,.{digits}f}" if half else "")


# --------------------------------------------------------------------------------------------
# Per-day series


def _series(out: Path, run: str, column: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Years since the run's start, and the mean over seeds of ``column`` per day."""
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
    return np.arange(n) / 365.25, mean


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

    def over_time(column: str, title: str, note: str) -> None:
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        drawn = False
        for run in runs:
            s = _series(out, run, column)
            if s is None:
                continue
            ax.plot(s[0], s[1] / pops[run] * 1e5, label=run)
            drawn = True
        if not drawn:
            plt.close(fig)
            return
        ax.set_xlabel("years since the run's start")
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
            means = [cells[r][0] if cells.get(r) else 0 for r in runs]
            errs = [cells[r][1] if cells.get(r) else 0 for r in runs]
            ax.bar(x + i * width, means, width, yerr=errs, label=label, capsize=3)
        ax.set_xticks(x + width * (len(present) - 1) / 2, runs)
        ax.set_ylabel("per 100,000 persons per year")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(frameon=False)
        figures.append((title, _png(fig), note))

    bars(
        [
            ("flight_denials", "flights"),
            ("train_denials", "trains"),
            ("innocent_denials", "of innocents"),
        ],
        "Denials per measure",
        "Bookings refused, with 95% intervals across seeds.",
    )
    bars(
        [
            ("objections_filed", "objections filed"),
            ("objections_upheld", "upheld"),
            ("repairs_granted", "repairs granted"),
            ("fulfilled_after_listing", "debts performed"),
            ("delisted", "left a list"),
        ],
        "Due process and compliance",
        "What the ways off a list did, per year.",
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


def _sweep_plot(results: pa.Table, study: Study) -> tuple[str, str, str] | None:
    if study.sweep is None:
        return None
    import matplotlib.pyplot as plt

    keys = [k for k in study.sweep if k != "run"]
    rows = results.filter(pc.equal(results["run"], study.sweep["run"])).to_pylist()
    metric = "restricted_innocents"
    if not rows or f"t_{metric}" not in rows[0]:
        return None
    by_point: dict[str, list[float]] = {}
    for r in rows:
        v = _value(r, metric, "stock")
        if v is not None:
            by_point.setdefault(r["point"], []).append(v)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    if len(keys) >= 2:
        xs, ys = study.sweep[keys[0]], study.sweep[keys[1]]
        grid = np.full((len(ys), len(xs)), np.nan)
        for point, vals in by_point.items():
            p = json.loads(point)
            if p.get(keys[0]) in xs and p.get(keys[1]) in ys:
                grid[ys.index(p[keys[1]]), xs.index(p[keys[0]])] = np.mean(vals)
        im = ax.imshow(grid, origin="lower", aspect="auto", cmap="magma_r")
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        ax.set_yticks(range(len(ys)), [str(y) for y in ys])
        ax.set_xlabel(keys[0])
        ax.set_ylabel(keys[1])
        for i in range(len(ys)):
            for j in range(len(xs)):
                if not np.isnan(grid[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{grid[i, j]:.1f}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if grid[i, j] > np.nanmean(grid) else "black",
                    )
        fig.colorbar(im, ax=ax, label="restricted innocents per 100,000")
    else:
        xs = study.sweep[keys[0]]
        means = [
            np.mean(by_point.get(json.dumps({keys[0]: x}, sort_keys=True), [np.nan])) for x in xs
        ]
        ax.plot([str(x) for x in xs], means, marker="o")
        ax.set_xlabel(keys[0])
        ax.set_ylabel("restricted innocents per 100,000")
    return (
        f"Sweep over {study.sweep['run']}",
        _png(fig),
        "Restricted innocents at the end, mean over seeds, for each grid point.",
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
# The page


def render(out: Path) -> Path:
    """Write ``out/report.html`` from a study folder; returns its path."""
    study = Study.model_validate_json((out / "study.json").read_text())
    results = read_results(out)
    runs = [r.name for r in study.runs]
    table = side_by_side(results, runs)
    figures = _plots(out, study, results, table)
    calib = calibration(out, results)
    info = {r["run"]: r for r in results.filter(pc.equal(results["point"], "{}")).to_pylist()}
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{e(study.name)}: regimes side by side</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{e(study.name)}: regimes side by side</h1>",
        f"<p>{e(study.description)}</p>",
        f"<p class='meta'>{len(study.seeds)} seed(s) per run; rates per 100,000 simulated "
        "persons; ± is the 95% confidence interval across seeds. All people are synthetic.</p>",
        "</header><main>",
        "<section><h2>The runs</h2><table><thead><tr><th>run</th><th>regime</th>"
        "<th>scenario</th><th>period</th><th>persons</th><th>stands for</th></tr></thead><tbody>",
    ]
    for run in runs:
        r = info.get(run)
        if r is None:
            continue
        parts.append(
            f"<tr><td>{e(run)}</td><td>{e(r['regime'])}</td><td>{e(r['scenario'])}</td>"
            f"<td>{e(r['start'])} to {e(r['end'])}</td><td>{r['population']:,}</td>"
            f"<td>{r['represented']:,}</td></tr>"
        )
    parts.append("</tbody></table></section>")
    parts.append(
        "<section><h2>Side by side</h2><table><thead><tr><th>per 100,000 persons"
        "</th>" + "".join(f"<th>{e(r)}</th>" for r in runs) + "</tr></thead><tbody>"
    )
    for row in table:
        unit = {"flow": " / year", "stock": "", "share": ""}[row["how"]]
        cells = "".join(
            f"<td>{_fmt(c[0], c[1], row['how'])}</td>" if c else "<td class='na'>—</td>"
            for c in (row["cells"][r] for r in runs)
        )
        parts.append(f"<tr><th scope='row'>{e(row['label'])}{unit}</th>{cells}</tr>")
    parts.append("</tbody></table></section>")
    for title, uri, note in figures:
        parts.append(
            f"<figure><figcaption><h2>{e(title)}</h2><p>{e(note)}</p></figcaption>"
            f"<img src='{uri}' alt='{e(title)}'></figure>"
        )
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
                    f"<tr><td>{e(run)}, {when}</td><td>{e(key)}</td>"
                    f"<td>{mean / 1e6:,.2f}M{spread}</td><td>{target / 1e6:,.2f}M</td>"
                    f"<td>{(mean / target - 1) * 100:+.1f}%</td></tr>"
                )
        parts.append(
            "</tbody></table><p class='meta'>Published: SPC figures for September 2018 and "
            "Global Times 2019-02-28 for the end of 2018 (FACTS.md). The model is scaled to "
            "the national population; the scenario was fitted at a million people, and smaller "
            "runs scatter more.</p></section>"
        )
    parts.append(
        "<footer><p>Mobility: of those ever at the bottom (on a list, for list regimes; in "
        "the lowest grade, for scores), the share out of it at the end. "
        "Scenario parameters, their sources and assumptions: "
        "docs/scenarios.md. The unified score and the 2018 pilot are refused by the "
        "registry's checker; they run here only over synthetic people.</p></footer>"
        "</main></body></html>"
    )
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


_CSS = """
body{font:15px/1.5 system-ui,sans-serif;color:#1b1b1b;max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.6rem}h2{font-size:1.15rem;margin:.2rem 0}
.meta{color:#555}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f2f2f2}
td.na{color:#999;text-align:center}figure{margin:1.5rem 0}img{max-width:100%;height:auto}
section{overflow-x:auto}footer{color:#555;border-top:1px solid #ddd;margin-top:2rem}
"""
