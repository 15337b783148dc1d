"""The command line: parse options, call the library, render. Nothing here decides anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from milsetctl import __version__

app = typer.Typer(
    name="milsetctl",
    help=(
        "Run a MILSET STEAM Photo Contest end to end: check submissions, settle doubtful cases, "
        "blind the jury package, combine scores, pick awards, print certificates.\n\n"
        "Start with:  milsetctl validate SUBMISSIONS_FOLDER  (creates a workspace in the current folder)."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

WorkspaceOpt = Annotated[
    Path,
    typer.Option("--workspace", "-w", help="The contest workspace folder (settings, ledger, outputs).",
                 file_okay=False, show_default="current folder"),
]


def _error(message: str) -> None:
    """One clear line on stderr; never wrapped, so paths and cell names stay whole."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def _fail(message: str, code: int = 1) -> None:
    _error(message)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out.print(f"milsetctl {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    pass


def _open(workspace: Path):  # type: ignore[no-untyped-def]
    from milsetctl.settings import SettingsError
    from milsetctl.workspace import WorkspaceError, open_workspace

    try:
        return open_workspace(workspace)
    except (WorkspaceError, SettingsError) as exc:
        _fail(str(exc))


@app.command()
def init(
    workspace: WorkspaceOpt = Path("."),
    source: Annotated[Path | None, typer.Option("--source", "-s", help="The submissions folder to remember.",
                                                exists=True, file_okay=False)] = None,
) -> None:
    """Create a contest workspace: contest.toml with every default written out, and the ledger."""
    from milsetctl.settings import SETTINGS_FILE, SettingsError
    from milsetctl.workspace import WorkspaceError, init_workspace

    try:
        ws = init_workspace(workspace, source)
    except (WorkspaceError, SettingsError) as exc:
        _fail(str(exc))
    with ws:
        verb = "Created" if ws.created else "Workspace already there:"
        out.print(f"{verb} {ws.root}")
        out.print(f"  settings: {ws.root / SETTINGS_FILE}  (edit to change deadlines, limits, regions)")
        out.print(f"  ledger:   {ws.ledger.path}  (schema v{ws.ledger.schema_version})")


@app.command()
def validate(
    source: Annotated[Path | None, typer.Argument(help="The submissions folder (photos + entries.csv/xlsx or "
                                                  "JSON sidecars). Default: the one remembered in contest.toml.",
                                                  show_default=False, metavar="SOURCE")] = None,
    workspace: WorkspaceOpt = Path("."),
    manifest: Annotated[Path | None, typer.Option("--manifest", "-m", help="The manifest, if not "
                                                  "entries.csv/entries.xlsx at the folder's root.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (SPEC format) to stdout.")] = False,
    report: Annotated[Path | None, typer.Option("--report", "-r", help="Also write a report: .html, .csv or "
                                                ".xlsx, chosen by the extension.", dir_okay=False)] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: all cores).",
                                             min=1, metavar="N")] = None,
    limit: Annotated[int, typer.Option(help="Entries needing attention shown in the terminal.", metavar="N")] = 40,
) -> None:
    """Check every submission against the contest rules and say who is eligible, and why not.

    Reads SOURCE only (nothing is ever written there); results go to the workspace's ledger.
    Re-running is cheap: unchanged photos are not read again, and decisions stay.
    """
    from milsetctl.console import photo_progress, render_validation
    from milsetctl.ingest import ManifestError
    from milsetctl.pipeline import validate as run_validate
    from milsetctl.settings import SettingsError
    from milsetctl.workspace import WorkspaceError, init_workspace, is_workspace, open_workspace

    if source is not None and not source.is_dir():
        _fail(f"{source}: no such folder", 2)
    if report is not None:
        from milsetctl.report import report_format

        try:
            report_format(report)
        except ValueError as exc:
            _fail(f"--report: {exc}", 2)
    try:
        if is_workspace(workspace.resolve()):
            ws = open_workspace(workspace)
            if source is not None and str(source.resolve()) != ws.settings.source:
                from milsetctl.settings import remember_source

                remember_source(ws.root / "contest.toml", str(source.resolve()))
        else:
            if source is None:
                _fail(f"{workspace.resolve()} is not a contest workspace; name the submissions folder: "
                      "milsetctl validate SOURCE", 2)
            ws = init_workspace(workspace, source)
            err.print(f"Created the contest workspace [bold]{ws.root}[/] (settings: contest.toml, ledger: "
                      "ledger.sqlite)")
    except (WorkspaceError, SettingsError) as exc:
        _fail(str(exc), 2)
    with ws:
        try:
            with photo_progress(err) as progress:
                result = run_validate(ws, source, manifest, jobs, progress)
        except (ManifestError, WorkspaceError) as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            err.print("[yellow]Interrupted.[/] Finished photos are saved; run the same command again to resume.")
            raise typer.Exit(130) from None
        if report is not None:
            from milsetctl.report import write_report

            written = write_report(result, report, ws.thumbs)
            err.print(f"Report written to [bold]{written}[/]")
        if as_json:
            sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=1) + "\n")
        else:
            render_validation(out, result, limit)


@app.command()
def decide(
    entry: Annotated[str, typer.Argument(help="The entry ID, e.g. E0007.", metavar="ENTRY")],
    decision: Annotated[str, typer.Argument(help="accept or reject.", metavar="accept|reject")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the ledger with who and when).")],
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Settle an entry: accept or reject it, with a reason. Decisions survive re-validation."""
    from milsetctl.decisions import DecisionError, record_decision

    decision = decision.strip().lower()
    if decision not in ("accept", "reject"):
        _fail(f"decision must be accept or reject, not {decision!r}", 2)
    with _open(workspace) as ws:
        try:
            outcome = record_decision(ws.ledger, entry, decision, reason)
        except DecisionError as exc:
            _fail(str(exc), 2)
        out.print(
            f"{outcome.entry_id}: {decision}ed by {outcome.who} — status {outcome.old_status} → "
            f"[bold]{outcome.new_status}[/]"
        )
        for finding in outcome.findings:
            out.print(f"  still on record: {finding.rule} ({finding.severity}): {finding.message}")


@app.command()
def status(workspace: WorkspaceOpt = Path(".")) -> None:
    """Where the contest stands: entries by status and category, open reviews, decisions, last run."""
    from milsetctl.console import render_status
    from milsetctl.decisions import contest_status

    with _open(workspace) as ws:
        render_status(out, contest_status(ws))


@app.command()
def rules(
    rule_id: Annotated[
        str | None, typer.Argument(help="Show one rule in full.", show_default=False, metavar="RULE")
    ] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """List every rule with its ID, severity (as this contest sets it) and why it exists."""
    from milsetctl import settings as settings_mod
    from milsetctl.console import render_rules
    from milsetctl.rules import all_rules, effective_severity, load_rules
    from milsetctl.workspace import is_workspace

    settings = settings_mod.load(workspace / "contest.toml") if is_workspace(workspace) else settings_mod.defaults()
    if rule_id:
        registry = load_rules()
        if rule_id not in registry:
            _fail(f"no rule {rule_id!r}; `milsetctl rules` lists them", 2)
        r = registry[rule_id]
        sev = effective_severity(r, settings)
        out.print(f"[bold]{r.id}[/]  severity: {sev or 'off'} (default {r.severity})  scope: {r.scope}  "
                  f"version: {r.version}\n")
        out.print(r.why)
        return
    render_rules(out, [(r, str(effective_severity(r, settings) or "off")) for r in all_rules()])


# ==== anonymise: the blind jury package (milsetctl/anonymise/) ====
# ==== end anonymise ====

# ==== jury sheets: jurors, assignment, one XLSX per juror (milsetctl/jury/) ====
jury_app = typer.Typer(help="The jury: score sheets for each juror.", no_args_is_help=True)
app.add_typer(jury_app, name="jury")
# ==== end jury sheets ====

# ==== score: read the filled sheets, combine, rank (milsetctl/scoring/) ====
# ==== end score ====

# ==== awards and nominate (milsetctl/awards/) ====
# ==== end awards ====


def main() -> None:
    app()


if __name__ == "__main__":
    main()
