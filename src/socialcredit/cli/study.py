"""``socialcredit study run|report|list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from socialcredit.study import report, runner
from socialcredit.study.spec import Study, bundled_names, load_study, load_study_text

console = Console(highlight=False)
app = typer.Typer(
    help="Regimes side by side: run a study, render its report.", no_args_is_help=True
)


@app.command("run")
def run_cmd(
    study: Annotated[str, typer.Argument(help="Bundled study name or a study TOML file.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out/study"),
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not render the report.")
    ] = False,
    refuse_changed: Annotated[
        bool,
        typer.Option(
            "--refuse-changed",
            help="If OUT holds results made from other inputs, stop and name what changed "
            "(default: run those simulations again).",
        ),
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run each simulation as a task on the Ray cluster at ADDRESS: 'auto' (the "
            "cluster started on this machine with `ray start`), HOST:PORT of its head, "
            "ray://HOST:10001 (Ray Client: needs Ray's client extra here), or 'local' (a private "
            "one for this command). "
            "Results come back to OUT on this machine, the same bytes as without --ray. "
            "Needs the package's ray extra (docs/ray.md).",
        ),
    ] = None,
) -> None:
    """Run every (run, sweep point, seed) not yet run with these exact inputs; results stream
    to OUT/results/*.parquet."""
    spec, text = load_study_text(study)
    run_all(spec, out, source=text, on_change="refuse" if refuse_changed else "rerun", ray=ray)
    if not no_report:
        path = report.render(out)
        console.print(f"report: {path}")


def run_all(
    spec: Study,
    out: Path,
    *,
    source: str | None = None,
    on_change: Literal["rerun", "refuse"] = "rerun",
    ray: str | None = None,
) -> None:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"study {spec.name}", total=len(runner.tasks(spec)))

        def progress(t: runner.Task, n: int, total: int) -> None:
            bar.update(
                task,
                completed=n - 1,
                description=f"{spec.name}: {t.run.name} {t.point_id} seed {t.seed}",
            )

        runner.run_study(
            spec,
            out,
            progress=progress,
            source=source,
            on_change=on_change,
            report=lambda line: bar.console.print(line, markup=False, soft_wrap=True),
            ray=ray,
        )
        bar.update(task, completed=len(runner.tasks(spec)), description=f"study {spec.name}")


@app.command("report")
def report_cmd(
    folder: Annotated[Path, typer.Argument(help="A folder written by `study run`.")],
) -> None:
    """Render FOLDER/report.html (self-contained: images embedded)."""
    path = report.render(folder)
    console.print(f"report: {path}")


@app.command("list")
def list_cmd() -> None:
    """The bundled studies."""
    for name in bundled_names():
        spec = load_study(name)
        console.print(f"{name}: {spec.description}")
