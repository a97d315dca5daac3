"""The court-list model (``bench/court_model.py``) on our simulator: ``national-2013`` under
``law-bound`` for 2017, with what the peers leave out switched off by scenario overrides
(no organisations, no wrong records, no objections; repair is off already).

Timed: ``run.run(out)`` (every day stepped, the metrics written to Parquet in a temporary
folder); the population's layout and allocation are ``build_s``.

    .venv/bin/python bench/court_ours.py --agents 10000000 --days 365
"""

from __future__ import annotations

import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import court_model
import socialcredit

OVERRIDES = {
    "organisations.per_person": 0.0,
    "due_process.wrong_share": 0.0,
    "due_process.objected_innocent": 0.0,
    "due_process.objected_guilty": 0.0,
}
NAMES = {
    "flight_denials": f"measure.{court_model.FLIGHT}.denials",
    "train_denials": f"measure.{court_model.TRAIN}.denials",
}


def main() -> None:
    args = court_model.arguments(__doc__)
    import numba

    from socialcredit.sim.run import prepare

    threads = args.threads or numba.config.NUMBA_NUM_THREADS
    start = date(court_model.YEAR, 1, 1)
    end = start + timedelta(days=args.days - 1)

    def prepared(agents: int, last: date) -> Any:
        return prepare(
            "national-2013",
            "law-bound",
            population=agents,
            seed=args.seed,
            threads=threads,
            start=start,
            end=last,
            overrides=OVERRIDES,
        )

    with tempfile.TemporaryDirectory(prefix="court-ours-") as out:
        prepared(1000, start + timedelta(days=1)).run(Path(out) / "warm-up")  # load the kernel
        t = time.perf_counter()
        run = prepared(args.agents, end)
        build = time.perf_counter() - t
        t = time.perf_counter()
        summary = run.run(Path(out) / "run")
        ran = time.perf_counter() - t
    totals = summary["totals"]
    court_model.report(
        "socialcredit",
        getattr(socialcredit, "__version__", "main"),
        args,
        build_s=build,
        run_s=ran,
        metrics={m: totals[NAMES.get(m, m)] for m in court_model.METRICS},
        threads=threads,
    )


if __name__ == "__main__":
    main()
