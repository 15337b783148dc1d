"""The command line: parse options, call the library, render. Nothing here decides anything."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from milsetctl import __version__
from milsetctl.cliparse import plain_params

if TYPE_CHECKING:
    from milsetctl.validation import Note

app = typer.Typer(
    name="milsetctl",
    help=(
        "Run a MILSET STEAM Photo Contest: check the submissions and settle doubtful cases, build the blind "
        "jury package and the jurors' score sheets, combine the scores, pick the awards and nominate the "
        "national best for the global round.\n\n"
        "Start with:  milsetctl validate SUBMISSIONS_FOLDER  (creates a workspace in the current folder).\n\n"
        "Every command works on the workspace holding the current folder (that folder or one above it, as git "
        "finds its repository), or the one named with -w. -w, --by and --wait may come before or after the command."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

class _Console(Console):
    """rich's console, remembering a closed pipe: rich points the stream at /dev/null and exits 1; main() makes
    that 0 (`milsetctl validate | head -3` is not an error)."""

    pipe_closed = False

    def on_broken_pipe(self) -> None:
        _Console.pipe_closed = True
        super().on_broken_pipe()


out = _Console(highlight=False)
err = _Console(stderr=True, highlight=False)

# ==== global options: -w before or after the command, the workspace found from a sub-folder, --by/--wait anywhere ====
_SEARCHED = [False]  # this invocation looked for the workspace above the current folder and found none


def _workspace_callback(search: bool) -> Callable[[typer.Context, typer.CallbackParam, Path], Path]:
    """Resolve a command's -w: given after the command, or before it (`milsetctl -w WS status`, the group's own
    -w); both given, they must name the same folder (else exit 2). Neither: with `search`, the workspace holding
    the current folder (workspace.find_workspace, as git finds its repository), else the current folder."""

    def resolve(ctx: typer.Context, param: typer.CallbackParam, value: Path) -> Path:
        if ctx.resilient_parsing:
            return value
        before = ctx.find_root().params.get("workspace")
        given = ctx.get_parameter_source(param.name or "workspace")
        after = value if given is not None and given.name == "COMMANDLINE" else None
        if before is not None and after is not None and before.resolve() != after.resolve():
            _fail(f"two workspaces named: -w {before} before the command and -w {after} after it; name one", 2)
        chosen = after if after is not None else before
        if chosen is not None:
            return Path(chosen)
        if not search:
            return value
        from milsetctl.workspace import find_workspace

        # validate SOURCE / init --source: parsed before -w when -w is not typed (declared first), and a folder
        # inside the submissions is never the workspace
        named = ctx.params.get("source")
        try:
            found = find_workspace(Path.cwd(), named if isinstance(named, Path) else None)
        except OSError:  # the current folder was removed under us
            found = None
        _SEARCHED[0] = found is None
        return found if found is not None else value

    return resolve


WorkspaceOpt = Annotated[
    Path,
    typer.Option("--workspace", "-w", help="The contest workspace folder (settings, ledger, outputs); may also "
                 "come before the command.", file_okay=False, metavar="DIR",
                 show_default="the one holding the current folder", callback=_workspace_callback(search=True)),
]
InitWorkspaceOpt = Annotated[  # init makes one where it is told, as `git init` does: no search above
    Path,
    typer.Option("--workspace", "-w", help="The folder to make the contest workspace; may also come before the "
                 "command.", file_okay=False, metavar="DIR", show_default="current folder",
                 callback=_workspace_callback(search=False)),
]
# ==== end global options ====


def _error(message: str) -> None:
    """One clear line on stderr; never wrapped, so paths and cell names stay whole."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    _error(message)
    raise typer.Exit(code)


def _warn(text: str) -> None:
    """One warning line on stderr, never wrapped."""
    err.print(f"[bold yellow]warning:[/] {escape(text)}", soft_wrap=True)


def _print_json(document: object) -> None:
    """`--json`: one JSON object on stdout and nothing else there."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=1) + "\n")


def _show(result: Any, render: Callable[[Console, Any], None], as_json: bool) -> None:
    """A command's result: its JSON (result.as_json(), SPEC's shape) on stdout with --json, else `render` on the
    terminal; one renderer of one result model either way."""
    if as_json:
        _print_json(result.as_json())
    else:
        render(out, result)


def _version(value: bool) -> None:
    if value:
        out.print(f"milsetctl {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    wait: Annotated[float, typer.Option("--wait", envvar="MILSETCTL_WAIT", min=0, metavar="SECONDS",
                                        help="When another command is writing to the workspace, wait this long "
                                        "for it to finish, then stop (exit 1).")] = 10.0,
    by: Annotated[str | None, typer.Option("--by", envvar="MILSETCTL_USER", metavar="NAME",
                                           help="Who is running this command, for the audit trail and decisions "
                                           "(default: your login name).")] = None,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", file_okay=False, metavar="DIR", show_default=False,
        help="The contest workspace folder (the same as the command's own -w). Default: the workspace holding "
        "the current folder.")
    ] = None,
) -> None:
    # --wait and --by may also follow the command (_hoist_globals); -w is read by each command's own -w
    _LOCK_WAIT[0] = wait
    _record_invocation(by)


# ==== workspace lock (milsetctl/locking.py) ====
_LOCK_WAIT = [10.0]  # --wait, set by main_options for this invocation


def _say_waiting(who: str) -> None:
    """The workspace is locked by another command: say so once, on stderr, while waiting for it (--wait)."""
    err.print(f"[bold yellow]waiting:[/] the workspace is in use by {escape(who)}; waiting up to "
              f"{_LOCK_WAIT[0]:g} s", soft_wrap=True)


def _lock_workspace(root: Path, opened=None):  # type: ignore[no-untyped-def]
    """Take the workspace's lock for this command (workspace.lock_workspace); after --wait seconds, exit 1 naming
    the command that holds it (closing `opened`, the workspace already open, first)."""
    from milsetctl.models import StageError
    from milsetctl.workspace import lock_workspace

    try:
        return lock_workspace(root, _LOCK_WAIT[0], _say_waiting, opened)
    except StageError as exc:
        _fail(str(exc), exc.code)


def _open(workspace: Path, read_only: bool = False):  # type: ignore[no-untyped-def]
    """Open the workspace for a command (workspace.open_for_command: a writing command holds the lock until the
    workspace is closed, a `read_only` one takes none and never waits); a failure is one line and its exit status."""
    from milsetctl.models import StageError
    from milsetctl.workspace import NotAWorkspace, open_for_command

    try:
        ws = open_for_command(workspace, read_only, _LOCK_WAIT[0], _say_waiting)
    except NotAWorkspace as exc:  # no workspace here: a usage error, as for validate
        _fail(str(exc) + (" No folder above it is one either." if _SEARCHED[0] else ""), exc.code)
    except StageError as exc:  # the lock not had, or the ledger unusable (newer than this milsetctl, key lost)
        _fail(str(exc), exc.code)
    if not read_only:  # a writing command works on, but never on a broken trail without a word
        from milsetctl.audit import verify_chain

        check = verify_chain(ws.ledger)
        if not check.ok:
            _warn(f"the audit trail is BROKEN{f' at record {check.broken_id}' if check.broken_id else ''}: "
                  f"{check.problem} (milsetctl audit --verify)")
    return ws
# ==== end workspace lock ====


ReplaceSourceOpt = Annotated[
    bool, typer.Option("--replace-source", help="Make SOURCE this workspace's submissions folder even though "
                       "the ledger knows few of its photos (a new contest in an old workspace).")
]


def _inside(path: Path, folder: Path | str) -> bool:
    """Whether writing `path` would write into `folder` (the submissions folder, which is never written)."""
    from milsetctl.fsutil import writes_into

    return writes_into(path, folder)


def _switch_source(ws, source: Path, replace: bool, files=None):  # type: ignore[no-untyped-def]
    """Check another SOURCE against the workspace's contest (exit 2 when it is another contest)."""
    from milsetctl.workspace import SourceError, check_source

    try:
        with err.status(f"Comparing {escape(str(source))} with the photos this contest knows…"):
            return check_source(ws, source, replace, files)
    except SourceError as exc:
        ws.close()
        _fail(str(exc), 2)


@app.command()
def init(
    workspace: InitWorkspaceOpt = Path("."),
    source: Annotated[Path | None, typer.Option("--source", "-s", help="The submissions folder to remember.",
                                                exists=True, file_okay=False)] = None,
    replace_source: ReplaceSourceOpt = False,
    country: Annotated[str | None, typer.Option("--country", help="The country this national round runs in "
                                                "(China, CN or 中国): [contest] country, by which nominate leaves "
                                                "out entrants from other countries. Asked in a terminal (Enter "
                                                "skips).", metavar="COUNTRY", show_default=False)] = None,
) -> None:
    """Create a contest workspace: contest.toml with every default written out, and the ledger."""
    from milsetctl.jury.conflicts import contest_country
    from milsetctl.settings import SETTINGS_FILE, SettingsError
    from milsetctl.workspace import WorkspaceError, adopt_source, init_workspace, set_country

    if country is not None:
        try:
            country = contest_country(country)
        except ValueError as exc:
            _fail(f"--country: {exc}", 2)
    try:
        ws = init_workspace(workspace, source, country)
    except (WorkspaceError, SettingsError) as exc:
        _fail(str(exc))
    ws.lock = _lock_workspace(ws.root, ws)
    with ws:
        change = _switch_source(ws, source, replace_source) if source is not None else None
        if change is not None:
            adopt_source(ws, change)
        if country is None and _asks_country(ws.settings):
            country = _ask_country(contest_country)
            if country:
                set_country(ws, country)
        verb = "Created" if ws.created else "Workspace already there:"
        out.print(f"{verb} {ws.root}")
        out.print(f"  settings: {ws.root / SETTINGS_FILE}  (edit to change deadlines, limits, regions)")
        out.print(f"  ledger:   {ws.ledger.path}  (schema v{ws.ledger.schema_version})")
        set_to = str(ws.settings.raw["contest"].get("country") or "")
        out.print(f"  country:  {escape(set_to)}  (nominate leaves out entrants from other countries)" if set_to else
                  "  country:  not set (nominate takes the country most entrants name; init --country sets it)",
                  soft_wrap=True)
        if change is not None and change.note:
            out.print(f"  {escape(change.note)}", soft_wrap=True)


def _asks_country(settings) -> bool:  # type: ignore[no-untyped-def]
    """Whether init asks for [contest] country: in a terminal, at the national stage, when none is set."""
    return sys.stdin.isatty() and settings.stage == "national" and not settings.raw["contest"].get("country")


def _ask_country(normalise: Callable[[str], str]) -> str | None:
    """Ask for the contest's country until the answer names one (normalised) or is empty (skipped: None)."""
    while True:
        answer = typer.prompt("Country of this national round (China, CN, 中国...; Enter to skip)", default="",
                              show_default=False, err=True).strip()
        if not answer:
            return None
        try:
            return normalise(answer)
        except ValueError as exc:
            _error(str(exc))


@app.command()
def validate(
    source: Annotated[Path | None, typer.Argument(help="The submissions folder (photos + entries.csv/xlsx or "
                                                  "JSON sidecars). Default: the one remembered in contest.toml.",
                                                  show_default=False, metavar="SOURCE")] = None,
    workspace: WorkspaceOpt = Path("."),
    manifest: Annotated[Path | None, typer.Option("--manifest", "-m", help="The manifest, if not "
                                                  "entries.csv/entries.xlsx at the folder's root.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (a fixed format) to stdout.")] = False,
    report: Annotated[Path | None, typer.Option("--report", "-r", help="Also write a report: .html, .csv or "
                                                ".xlsx, chosen by the extension.", dir_okay=False)] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Photos checked at once (default: all cores).",
                                             min=1, metavar="N")] = None,
    limit: Annotated[int, typer.Option(help="Entries needing attention shown in the terminal.", metavar="N")] = 40,
    replace_source: ReplaceSourceOpt = False,
    after_purge: Annotated[bool, typer.Option("--after-purge", help="Validate a workspace whose personal data was "
                                              "purged anyway: SOURCE is read again as NEW entries, names and all "
                                              "(the purged entries keep their IDs and results).")] = False,
    first_pass: Annotated[bool, typer.Option("--first-pass", help="Stop after the first pass: every verdict but "
                                             "the text check, which is the slow part (a later validate runs "
                                             "it).")] = False,
) -> None:
    """Check every submission against the contest rules and say who is eligible, and why not.

    Reads SOURCE only (nothing is ever written there); results go to the workspace's ledger.
    Re-running is cheap: unchanged photos are not read again, and decisions stay.
    The same submissions at another path (a moved drive) continue the contest with the same entry IDs.
    Two passes: every verdict but the text check is saved first; then the text check runs, resumably.
    """
    from milsetctl.console import render_changes, render_first_pass, render_validation, validation_progress
    from milsetctl.models import StageError
    from milsetctl.validation import ValidationInterrupted, check_source_folder, prepare_validation

    try:
        check_source_folder(source)
    except StageError as exc:
        _fail(str(exc), exc.code)
    if report is not None:
        from milsetctl.report import report_format

        try:
            report_format(report)
        except ValueError as exc:
            _fail(f"--report: {exc}", 2)
    try:
        job = prepare_validation(workspace, source, manifest, report=report, replace_source=replace_source,
                                 after_purge=after_purge, lock_wait=_LOCK_WAIT[0], on_wait=_say_waiting,
                                 on_note=_say_note, status=lambda text: err.status(escape(text)))
    except StageError as exc:
        _fail(str(exc), exc.code)
    with job:
        try:
            with validation_progress(err) as (progress, second_progress):
                result = job.run(jobs, progress, second_progress=second_progress, second_pass=not first_pass,
                                 on_first_pass=lambda first, left: render_first_pass(err, first, left, first_pass))
        except ValidationInterrupted:
            err.print("[yellow]Interrupted.[/] Finished photos are saved; run the same command again to resume.")
            raise typer.Exit(130) from None
        except StageError as exc:
            _fail(str(exc), exc.code)
        if report is not None:
            from milsetctl.report import write_report
            from milsetctl.stages import record_outputs

            written = write_report(result, report, job.ws.thumbs, job.ws.settings)
            record_outputs(job.ws, "validate-report", [written])  # purge finds it wherever it went
            err.print(f"Report written to [bold]{escape(str(written))}[/]", soft_wrap=True)
        if as_json:
            _print_json(result.as_json())
            render_changes(err, result)  # SPEC fixes the JSON: what changed goes to the terminal
        else:
            render_validation(out, result, limit)


def _say_note(note: Note) -> None:
    """A note of the library (validation.Note) on stderr, as loud as its kind."""
    if note.kind == "created":
        err.print(f"Created the contest workspace [bold]{escape(str(note.path))}[/] (settings: contest.toml, "
                  "ledger: ledger.sqlite)", soft_wrap=True)
    elif note.kind == "source":
        err.print(f"[bold yellow]note:[/] {escape(note.text)}", soft_wrap=True)
    else:
        err.print(f"[bold]note:[/] {escape(note.text)}", soft_wrap=True)


@app.command()
def decide(
    entry: Annotated[str | None, typer.Argument(help="The entry ID, e.g. E0007.", metavar="ENTRY",
                                                show_default=False)] = None,
    decision: Annotated[str | None, typer.Argument(help="accept or reject.", metavar="accept|reject",
                                                   show_default=False)] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the ledger with who and when).",
                                               show_default=False)] = None,
    from_sheet: Annotated[Path | None, typer.Option(
        "--from", metavar="FILE", show_default=False,
        help="Record every decision of a filled-in sheet (XLSX, CSV, ODS; columns entry, decision, reason): rows "
             "left blank wait, a row that cannot be taken is named and the others are recorded.")] = None,
    review_sheet: Annotated[Path | None, typer.Option(
        "--review-sheet", metavar="FILE", show_default=False,
        help="Write the entries waiting for a decision, with their findings, to FILE (.xlsx or .csv) to fill in "
             "and give back with --from.")] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Settle an entry: accept or reject it, with a reason. Decisions survive re-validation. Many at once:
    --review-sheet writes the entries in review to a sheet, --from records the decisions filled in."""
    from milsetctl.decisions import DecisionError, record_decision

    if review_sheet is not None or from_sheet is not None:
        if entry is not None or decision is not None or reason is not None or (review_sheet and from_sheet):
            _fail("give ENTRY accept|reject --reason, or --review-sheet FILE, or --from FILE: one of them", 2)
        _decide_in_bulk(workspace, review_sheet, from_sheet)
        return
    if entry is None or decision is None or reason is None:
        _fail("say which entry and what: milsetctl decide E0007 accept --reason \"...\" (or --review-sheet FILE "
              "for all the entries in review)", 2)
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


def _decide_in_bulk(workspace: Path, review_sheet: Path | None, from_sheet: Path | None) -> None:
    from milsetctl.decisionsheet import DecisionSheetError, record_decisions, write_review_sheet
    from milsetctl.members.sheets import SheetError

    with _open(workspace) as ws:
        if review_sheet is not None:
            try:
                count = write_review_sheet(ws.ledger, review_sheet)
            except SheetError as exc:
                _fail(str(exc), exc.code)
            except DecisionSheetError as exc:
                _fail(str(exc), 1)
            out.print(f"{count} entr{'y waits' if count == 1 else 'ies wait'} for a decision: {review_sheet}"
                      + ("" if not count else " — fill in decision (accept/reject) and reason, then "
                         f"milsetctl decide --from {review_sheet}"), soft_wrap=True)
            return
        assert from_sheet is not None
        try:
            batch = record_decisions(ws.ledger, from_sheet)
        except DecisionSheetError as exc:
            _fail(str(exc), 2)
    for outcome in batch.recorded:
        out.print(f"{outcome.entry_id}: {outcome.new_status} (was {outcome.old_status})", soft_wrap=True)
    for row, why in batch.refused:
        err.print(f"[red]{escape(from_sheet.name)} row {row}:[/] {escape(why)}", soft_wrap=True)
    counts = {s: sum(o.new_status == s for o in batch.recorded) for s in ("eligible", "rejected")}
    same = f"; {batch.unchanged} already decided so (not recorded again)" if batch.unchanged else ""
    out.print(f"{len(batch.recorded)} decision(s) recorded ({counts['eligible']} eligible, {counts['rejected']} "
              f"rejected); {len(batch.refused)} row(s) refused; {batch.blank} left blank{same}", soft_wrap=True)
    if batch.refused:
        raise typer.Exit(1)

@app.command()
def status(workspace: WorkspaceOpt = Path("."),
           as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (SPEC: stages, each with "
                                                 "state done|stale|not-yet, why and next).")] = False) -> None:
    """Where the contest stands, stage by stage: done, out of date (and what changed), or not yet; what waits on a
    person (decisions, jurors' sheets), and the next command to run. Also entries by status and category."""
    from milsetctl.audit import verify_chain
    from milsetctl.console import render_status
    from milsetctl.decisions import contest_status

    with _open(workspace, read_only=True) as ws:
        check = verify_chain(ws.ledger)  # a hand-edited trail is seen without asking for it: first and last line
        if not check.ok:  # on stderr with --json: stdout holds the one JSON object
            (err if as_json else out).print(
                f"[bold red]The audit trail is BROKEN at record {check.broken_id}: records from there on cannot be "
                "trusted (milsetctl audit --verify)[/]" if check.broken_id is not None else
                f"[bold red]The audit trail cannot be vouched for: {escape(check.problem or '')}[/]", soft_wrap=True)
        st = contest_status(ws)
        if as_json:
            _print_json({**st.as_json(), "audit_trail": {"ok": check.ok, "records": check.records,
                                                         "broken_at": check.broken_id, "problem": check.problem}})
            return
        render_status(out, st)
        out.print(f"audit trail: [bold green]intact[/] ({check.records} records)" if check.ok else
                  f"audit trail: [bold red]BROKEN at record {check.broken_id}[/] (milsetctl audit --verify)"
                  if check.broken_id is not None else
                  "audit trail: [bold red]cannot be vouched for[/] (milsetctl audit --verify says why)")


@app.command()
def rules(
    rule_id: Annotated[
        str | None, typer.Argument(help="Show one rule in full.", show_default=False, metavar="RULE")
    ] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """List every rule with its ID, severity (as this contest sets it) and why it exists, then the codes of the
    problems score, members import, fees, awards and nominate report. RULE may be a rule or a problem code."""
    from milsetctl import settings as settings_mod
    from milsetctl.console import render_problem_code, render_problem_codes, render_rule, render_rules
    from milsetctl.problem_codes import CODES
    from milsetctl.rules import all_rules, closest, effective_severity, load_rules
    from milsetctl.workspace import is_workspace

    try:
        settings = settings_mod.load(workspace / "contest.toml") if is_workspace(workspace) else settings_mod.defaults()
    except settings_mod.SettingsError as exc:
        _fail(str(exc), 2)
    if rule_id:
        registry = load_rules()
        if rule_id in CODES:
            render_problem_code(out, CODES[rule_id])
            return
        if rule_id not in registry:
            near = closest(rule_id, [*registry, *CODES])
            _fail(f"no rule or problem code {rule_id!r}" + (f"; did you mean {' or '.join(near)}?" if near else "")
                  + " (`milsetctl rules` lists them)", 2)
        r = registry[rule_id]
        render_rule(out, r, str(effective_severity(r, settings) or "off"))
        return
    render_rules(out, [(r, str(effective_severity(r, settings) or "off")) for r in all_rules()])
    render_problem_codes(out, list(CODES.values()))


# ==== anonymise: the blind jury package (milsetctl/anonymise/) ====
@app.command()
def anonymise(
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (a fixed format) to stdout.")] = False,
    verify_only: Annotated[bool, typer.Option("--verify", help="Only scan the existing package for identifying "
                                              "traces; exit 1 when any is found.")] = False,
) -> None:
    """Build the blind jury package: anonymous photos and a contact sheet for the jurors.

    Each eligible photo is copied under a random anonymous ID with every identifying trace removed.

    The picture data is not re-encoded. The contact sheet comes as HTML and as a printable PDF.

    Re-running keeps the IDs already handed out, adds entries accepted since, withdraws entries no longer eligible.

    Every build ends with the --verify scan, and fails if it finds anything.
    """
    from milsetctl.anonymise import AnonymiseError, build_package, package_dir, verify_package
    from milsetctl.anonymise.console import package_progress, render_leaks, render_package

    with _open(workspace) as ws:
        if verify_only:
            try:
                leaks = verify_package(ws)
                files = leaks.files
            except FileNotFoundError:
                _fail(f"no jury package at {package_dir(ws)}: run milsetctl anonymise first")
            if as_json:
                sys.stdout.write(json.dumps({"package": str(package_dir(ws)), "files": files, "leaks": [
                    {"file": x.file, "block": x.block, "found": x.what} for x in leaks]}, ensure_ascii=False) + "\n")
            render_leaks(err if as_json else out, leaks, files)
            raise typer.Exit(1 if leaks else 0)
        try:
            with package_progress(err) as progress:
                result = build_package(ws, progress, stage=lambda text: err.print(f"{text}…"))
        except AnonymiseError as exc:
            _fail(str(exc))
        except OSError as exc:  # disk full, a read-only package folder
            _fail(f"cannot write the jury package: {exc.strerror or exc} ({exc.filename or package_dir(ws)}); "
                  "photos already packaged are kept")
        except KeyboardInterrupt:
            err.print("[yellow]Interrupted.[/] Photos already packaged are kept; run the same command again to "
                      "finish (anonymous IDs stay).")
            raise typer.Exit(130) from None
        if as_json:
            _print_json(result.as_json())
        render_package(err if as_json else out, result)
        render_leaks(err if as_json else out, result.leaks, result.files_scanned)
        if result.leaks:
            _fail(f"the package is NOT safe to send: {len(result.leaks)} identifying traces found (listed above)")
        if result.problems:
            _fail(f"{len(result.problems)} eligible entries could not be packaged (listed above)")
# ==== end anonymise ====

# ==== jury sheets: jurors, assignment, one XLSX per juror (milsetctl/jury/) ====
jury_app = typer.Typer(help="The jury: score sheets for each juror, who has returned them, reminders, and a final "
                       "for close scores.", no_args_is_help=True)
app.add_typer(jury_app, name="jury")


@jury_app.command("sheets")
def jury_sheets(
    jurors: Annotated[Path, typer.Option("--jurors", help="The juror file (.csv in any encoding Excel "
                                         "writes, or .xlsx): name, affiliation, country, email, school "
                                         "(姓名, 单位, 国家, 邮箱, 学校 too).", exists=True, dir_okay=False,
                                         metavar="FILE")],
    quorum: Annotated[int | None, typer.Option("--quorum", "-k", help="Jurors per entry, balanced; 0 = every "
                                               "juror scores every entry. Default: settings jury.quorum.",
                                               min=0, metavar="K")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the assignment and the sheets' random "
                                             "orders (default: the round's own, kept in the ledger).",
                                             metavar="N")] = None,
    html: Annotated[bool, typer.Option("--html", help="Also write each juror's offline scoring page beside the "
                                       "sheet (J01 Name.html: photos, rubric, keyboard scoring, no network needed); "
                                       "its Export saves a CSV that score reads.")] = False,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """One XLSX score sheet per juror in jury/sheets/, entries in a random order per juror.

    No juror gets an entry from their own school (national stage) or country (global stage).

    Re-run with a changed juror file (a juror dropped out or joined): returned scores stay, only unscored work moves.

    A juror who left has their sheet moved to jury/sheets/withdrawn/, never deleted.
    """
    from milsetctl.jury import JurorFileError, JuryError, make_sheets
    from milsetctl.jury.console import render_sheets, sheet_progress

    with _open(workspace) as ws:
        try:
            with sheet_progress(err) as progress:
                result = make_sheets(ws, jurors, quorum, seed, progress, html=html)
        except JurorFileError as exc:
            for problem in exc.problems:
                _error(problem)
            _fail(f"{jurors.name}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}; "
                  "no sheet written")
        except JuryError as exc:
            _fail(str(exc))
        if as_json:
            _print_json(result.as_json())
            for warning in result.warnings:
                _warn(warning)
        else:
            render_sheets(out, result)
# ==== end jury sheets ====

# ==== jury status and jury remind: the round's progress and the late jurors' reminders (milsetctl/juryround/) ====
SheetsDirArg = Annotated[Path | None, typer.Argument(
    help="The folder of sheets to look at (default: jury/returned/ if present, else jury/sheets/).",
    file_okay=False, metavar="SHEETS_DIR", show_default=False)]


@jury_app.command("status")
def jury_status(
    sheets_dir: SheetsDirArg = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (a fixed format) to stdout.")] = False,
) -> None:
    """Who has scored: per juror returned / partial / missing (entries scored of those assigned), when the sheet
    arrived and the juror's flags; per entry whether its quorum is met. Reads the sheets; stores nothing."""
    from milsetctl.juryround.console import render_status
    from milsetctl.juryround.status import StatusError, round_status

    with _open(workspace, read_only=True) as ws:
        try:
            result = round_status(ws, sheets_dir)
        except StatusError as exc:
            _fail(str(exc), exc.code)
        _show(result, render_status, as_json)


@jury_app.command("remind")
def jury_remind(
    sheets_dir: SheetsDirArg = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the reminders (mail-merge table, mail/ "
                                                 "with the .eml files).", file_okay=False, metavar="DIR",
                                                 show_default="WORKSPACE/jury/reminders")] = None,
    eml: Annotated[bool, typer.Option("--eml", help="Also write one ready-to-send .eml per late juror, their sheet "
                                      "attached ([mail] from).")] = False,
    send: Annotated[bool, typer.Option("--send", help="Send the reminders over SMTP ([mail] in contest.toml), as "
                                       "notices --send does. At most one a day per juror: a re-run the same day "
                                       "sends nobody a second one.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --send: list who would get a reminder; send "
                                          "nothing.")] = False,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Remind every juror whose sheet is missing or partial: what is missing and the due date ([jury] sheets_due),
    as a mail-merge table (XLSX, CSV); --eml writes the e-mails with the juror's sheet attached, --send sends them."""
    from milsetctl.juryround.console import render_reminders, render_sent
    from milsetctl.juryround.remind import RemindError, make_reminders, send_reminders
    from milsetctl.mail import MailError
    from milsetctl.notices.console import send_progress

    if dry_run and not send:
        _fail("--dry-run goes with --send", 2)
    with _open(workspace) as ws:
        try:
            batch = make_reminders(ws, sheets_dir, out_dir, eml=eml or send)
        except RemindError as exc:
            _fail(str(exc), exc.code)
        for note in batch.warnings:
            _warn(note)
        report = None
        if send:
            try:
                with send_progress(err) as sending:
                    report = send_reminders(ws, batch, dry_run=dry_run, progress=sending)
            except MailError as exc:
                _fail(str(exc), exc.code)
        if as_json:
            _print_json({**batch.as_json(), **({"mail": report.as_json()} if report is not None else {})})
        else:
            render_reminders(out, batch)
            if report is not None:
                render_sent(out, report)
        if report is not None and not report.complete:
            raise typer.Exit(1)
# ==== end jury status and jury remind ====

# ==== score: read the filled sheets, combine, rank (milsetctl/scoring/) ====
@app.command()
def score(
    sheets: Annotated[list[Path], typer.Argument(help="Score sheets: juror XLSX/CSV files, long CSVs (juror, "
                                                 "anon_id, criterion, score), or folders of them (e.g. "
                                                 "jury/sheets/).", show_default=False, metavar="SHEET")],
    method: Annotated[str | None, typer.Option("--method", "-m", help="How juror scores combine: mean (the "
                                               "call's rule), trimmed, median or zscore. Default: settings "
                                               "jury.method.", metavar="METHOD")] = None,
    allow_missing: Annotated[bool, typer.Option("--allow-missing", help="Store the scores and the ranking even "
                                                "though some scores are missing or unusable: each entry is "
                                                "combined over the jurors who scored it completely, nothing is "
                                                "filled in or counted as 0, and every gap stays listed.")] = False,
    compare: Annotated[bool, typer.Option("--compare", help="Show the entries whose award another method would "
                                          "change, and which methods fit the design (a quorum: per-juror z-scores "
                                          "mislead), and store nothing (no scores, ranking or run record).")] = False,
    final: Annotated[bool, typer.Option("--final", help="The SHEETs are the jurors' final sheets (`jury final`): "
                                        "combine their rankings with the Schulze method, show them beside the "
                                        "score order with the ties named, and record the outcome (awards follow "
                                        "it only with `awards --use-final`).")] = False,
    forget: Annotated[list[str] | None, typer.Option(
        "--forget", metavar="JUROR", help="Drop this juror's stored scores with this run (a sheet stored before "
        "under a wrong name); repeatable. The run's audit record counts what was replaced.")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (a fixed format) to stdout.")] = False,
) -> None:
    """Read the jurors' score sheets, store the scores, rank the entries, and say how far the jurors agree.

    Every unusable cell is listed with sheet, juror, row and cell.
    No ranking is stored while a required score is missing (exit 1), unless --allow-missing.
    Re-scoring a juror replaces that juror's scores; the ledger keeps a record of each run. --compare only looks.
    """
    from milsetctl.scoring.console import render_score, score_status
    from milsetctl.scoring.round import ScoreUsageError, score_round

    if final:
        if method or allow_missing or compare or forget:
            _fail("--final combines final rankings only: --method, --allow-missing, --compare and --forget are for "
                  "score sheets", 2)
        _score_final(sheets, workspace, as_json)
        return
    with _open(workspace) as ws:
        try:
            with score_status(err) as progress:
                result = score_round(ws, sheets, method=method, allow_missing=allow_missing, compare=compare,
                                     progress=progress, forget=forget or ())
        except ScoreUsageError as exc:
            _fail(str(exc), 2)
        except KeyboardInterrupt:
            err.print("[yellow]Interrupted.[/] The ledger is unchanged or holds this run's scores whole; run the "
                      "same command again.")
            raise typer.Exit(130) from None
        if as_json:
            _print_json(result.as_json())
        render_score(err if as_json else out, result, brief=as_json)
        raise typer.Exit(result.exit_code)
# ==== end score ====

# ==== jury final and score --final: a fair final for the places that matter (issue 20) ====
@jury_app.command("final")
def jury_final(
    places: Annotated[int | None, typer.Option("--places", help="Global stage: a final for the top N places (the "
                                               "entries ranked 1..N and those within one standard error of place "
                                               "N's score).", min=1, metavar="N")] = None,
    cut: Annotated[bool, typer.Option("--cut", help="National stage: a final, per category, for the entries within "
                                      "one standard error of the Qualifier cut.")] = False,
    se: Annotated[float, typer.Option("--se", help="The band's width in standard errors of a score.", min=0,
                                      metavar="K")] = 1.0,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the final sheets.", file_okay=False,
                                                 metavar="DIR", show_default="WORKSPACE/jury/final")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """A short final sheet per juror (XLSX, thumbnails, one column "your rank") for the entries the scores cannot
    separate; `score --final` combines the rankings. The awards follow the scores unless `awards --use-final`."""
    from milsetctl.scoring.final import FinalError
    from milsetctl.scoring.final_console import render_final_sheets
    from milsetctl.scoring.finalsheets import make_final

    with _open(workspace) as ws:
        try:
            result = make_final(ws, places=places, cut=cut, k=se, out_dir=out_dir)
        except FinalError as exc:
            _fail(str(exc), 2)
        _show(result, render_final_sheets, as_json)


def _score_final(sheets: list[Path], workspace: Path, as_json: bool) -> None:
    from milsetctl.scoring.final import FinalError, score_final
    from milsetctl.scoring.final_console import render_final_score

    with _open(workspace) as ws:
        try:
            result = score_final(ws, sheets)
        except FinalError as exc:
            _fail(str(exc), 2)
        if as_json:
            _print_json(result.as_json())
        render_final_score(err if as_json else out, result)
        raise typer.Exit(result.exit_code)
# ==== end jury final ====

# ==== originals: the finalists' camera originals, asked for and checked (milsetctl/originals.py, issue 21) ====
originals_app = typer.Typer(help="The finalists' camera originals: ask for them, check each entry against its "
                            "original.", no_args_is_help=True)
app.add_typer(originals_app, name="originals")


@originals_app.command("request")
def originals_request(
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write a mail-merge file (.csv or .xlsx): "
                                                  "entry, name, e-mail, title, award and what to send.",
                                                  dir_okay=False, metavar="FILE")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """The finalists (award holders and global nominees) and what each should send: the camera original,
    unedited, named by entry ID (E0012.jpg, or the RAW file E0012.CR2)."""
    from milsetctl.originals import OriginalsError, request
    from milsetctl.originals_console import render_request

    with _open(workspace, read_only=out_file is None) as ws:
        try:
            result = request(ws, out_file)
        except OriginalsError as exc:
            _fail(str(exc))
        _show(result, render_request, as_json)


@originals_app.command("check")
def originals_check(
    folder: Annotated[Path, typer.Argument(help="The folder of originals, each named with its entry ID.",
                                           exists=True, file_okay=False, metavar="DIR")],
    html: Annotated[Path | None, typer.Option("--html", help="Write a page with each entry and its original side "
                                              "by side, the differing regions boxed.", dir_okay=False,
                                              metavar="FILE")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (a fixed format) to stdout.")] = False,
) -> None:
    """Per finalist: original-match (same scene, only exposure, colour, crop and scale changed), original-edited
    (regions whose content differs, boxed in the entry's pixels) or original-missing (no file, or not the same
    scene). Records an audit record. RAW originals need `pip install milsetctl[raw]`."""
    from milsetctl.originals import OriginalsError, check
    from milsetctl.originals_console import render_check

    with _open(workspace) as ws:
        try:
            result = check(ws, folder, html)
        except OriginalsError as exc:
            _fail(str(exc))
        _show(result, render_check, as_json)
# ==== end originals ====

# ==== awards and nominate (milsetctl/awards/) ====
@app.command()
def awards(
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (a fixed format) to stdout.")] = False,
    export: Annotated[Path | None, typer.Option("--export", help="Also write the list with each juror's scores "
                                                "and comments: .xlsx or .csv, chosen by the extension.",
                                                dir_okay=False, metavar="FILE")] = None,
    names: Annotated[bool, typer.Option("--names", help="In the export, name the jurors instead of J1, J2...")
                     ] = False,
    use_final: Annotated[bool, typer.Option("--use-final", help="The chair's choice: rank the short-listed entries "
                                            "by the recorded jury final (`jury final`, `score --final`) instead of "
                                            "their scores; recorded in the audit trail. Default: the scores.")
                         ] = False,
) -> None:
    """The award list from the last `score`: Qualifier Awards, or global-1..3 and the gallery.

    National stage: the Qualifier Award per category. Global stage: global-1..3 and the gallery, overall.
    Ties on a cut are named; every tied entry gets the award."""
    from milsetctl.awards.console import render_awards, render_warnings
    from milsetctl.awards.export import ExportError, export_awards, export_format
    from milsetctl.awards.run import NoRankingError, compute_awards

    if export is not None:
        try:
            export_format(export)
        except ExportError as exc:
            _fail(f"--export: {exc}", 2)
    with _open(workspace) as ws:
        if export is not None and _inside(export, ws.settings.source):
            _fail(f"--export {export}: inside the submissions folder {ws.settings.source}; nothing may be written "
                  "there", 2)
        from milsetctl.scoring.final import FinalError

        try:
            result = compute_awards(ws, use_final=use_final)
        except NoRankingError as exc:
            _fail(str(exc), 1)
        except FinalError as exc:
            _fail(str(exc), 2)
        render_warnings(err, result)
        if export is not None:
            try:
                written = export_awards(ws, result.rows, export, names=names)
            except ExportError as exc:
                _fail(str(exc), 1)
            err.print(f"Award list written to [bold]{escape(str(written))}[/]")
        _show(result, render_awards, as_json)


@app.command()
def nominate(
    top: Annotated[int, typer.Option("--top", help="How many entries to nominate: the best N overall (ties "
                                     "at the Nth place are all included).", metavar="N")],
    out_file: Annotated[Path, typer.Option("--out", help="The zip to write (photos + entries.csv).",
                                           dir_okay=False, metavar="FILE.zip")],
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
    other_countries: Annotated[bool, typer.Option(
        "--other-countries", help="Nominate award holders from another country than the contest's too (left out "
        "and named by default: a national round nominates its own country's best).")] = False,
) -> None:
    """Pack the national round's best N for the global round: original photos and a manifest.

    The photos byte for byte; the manifest has the usual columns plus country and national_rank.
    The global stage's `validate` reads a folder of such packages."""
    from milsetctl.awards.console import render_nomination
    from milsetctl.awards.nominate import NominateError
    from milsetctl.awards.nominate import nominate as run_nominate

    if out_file.suffix.lower() != ".zip":
        _fail(f"--out: {out_file.name}: the nomination package is a .zip file", 2)
    with _open(workspace) as ws:
        try:
            result = run_nominate(ws, top, out_file, other_countries=other_countries)
        except NominateError as exc:
            _fail(str(exc), exc.code)
        for note in result.warnings:
            _warn(note)
        _show(result, render_nomination, as_json)
# ==== end awards ====


# ==== gallery (milsetctl/gallery/) ====
@app.command()
def gallery(
    workspace: WorkspaceOpt = Path("."),
    out_dir: Annotated[Path | None, typer.Option("--out", help="The folder to write the site into.", file_okay=False,
                                                 show_default="WORKSPACE/gallery", metavar="DIR")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Make the virtual gallery: a static site (index + one page per photo) that works offline.

    The global top 10 at the global stage, the qualifiers per category at the national stage; web-size images
    made from the original photos with no metadata."""
    from milsetctl.gallery import GalleryError, build_gallery
    from milsetctl.gallery.console import gallery_progress, render_gallery

    with _open(workspace) as ws:
        try:
            with gallery_progress(err) as progress:
                result = build_gallery(ws, out_dir, progress)
        except GalleryError as exc:
            _fail(str(exc), exc.code)
        for note in result.warnings:
            _warn(note)
        page = _verify_page(ws, result.out)
        _show(result, render_gallery, as_json)
    if page is not None:  # on stderr: stdout holds the gallery's JSON with --json
        err.print(f"certificate check page: {escape(str(page.path))} ({page.listed} certificates"
                  + (f"; left off, no publication consent: {', '.join(page.no_consent)}" if page.no_consent else "")
                  + ")", soft_wrap=True)


def _verify_page(ws: Any, folder: Path) -> Any:
    """verify.html beside the gallery's pages (certificates/verifypage.py), or None with a warning when it cannot
    be made (the gallery itself is made)."""
    from milsetctl.certificates import CertificateError
    from milsetctl.certificates.verifypage import write_verify_page

    try:
        return write_verify_page(ws, folder)
    except CertificateError as exc:
        _warn(f"verify.html not written: {exc}")
        return None
# ==== end gallery ====


# ==== certificates ====
@app.command()
def certificates(
    kind: Annotated[str, typer.Argument(help="participation, qualifier, global, gallery, juror or member.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the PDFs.", file_okay=False,
                                                 show_default="certificates/KIND in the workspace")] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Print only these entries (entry or juror ID); "
                                                   "repeat the option or list several.", metavar="ENTRY")] = None,
    proof: Annotated[bool, typer.Option("--proof", help="Write only the proof list (XLSX and PDF) of every name, "
                                        "school and title as it will print, to check spelling first.")] = False,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Print a batch of certificates: one PDF per recipient plus one combined print file.

    Each carries a verification code (checked with `milsetctl verify`). A name with a character no installed
    font can print is refused, naming the character; the rest of the batch is printed."""
    from milsetctl.certificates import CertificateError, issue_certificates
    from milsetctl.certificates.console import certificate_progress, render_batch

    only_ids = [part for item in (only or []) for part in item.replace(",", " ").split()]
    if proof:
        from milsetctl.certificates.proof import write_proof

        with _open(workspace) as ws:
            try:
                made = write_proof(ws, kind, out=out_dir, only=only_ids or None)
            except CertificateError as exc:
                _fail(str(exc), exc.code)
        if as_json:
            sys.stdout.write(json.dumps({"proof": {"xlsx": str(made.xlsx), "pdf": str(made.pdf), "rows": made.rows,
                                                   "unprintable": made.refused}}, ensure_ascii=False) + "\n")
        else:
            out.print(f"proof list: {escape(str(made.xlsx))} and {escape(str(made.pdf))} ({made.rows} rows"
                      + (f", {made.refused} with a character no font prints" if made.refused else "") + ")",
                      soft_wrap=True)
        return
    with _open(workspace) as ws:
        try:
            with certificate_progress(err, kind) as progress:
                batch = issue_certificates(ws, kind, out=out_dir, only=only_ids or None, progress=progress)
        except CertificateError as exc:
            _fail(str(exc), exc.code)
        for refused in batch.refused:
            _error(f"refused: {refused.reason}")
        _show(batch, render_batch, as_json)
        if batch.refused:
            raise typer.Exit(1)


@app.command()
def verify(
    code: Annotated[str, typer.Argument(help="The code printed on the certificate (dashes, spaces, case "
                                        "do not matter), or what a scanner reads from its QR code (MILSET-CERT:"
                                        "CODE, or the verify page's address with the code).",
                                        metavar="TEXT")],
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Say whether a certificate is genuine: whose it is and for what, or that this workspace never issued it.

    Only what the code signs is shown (recipient, entry, kind, contest year, issue day); a ledger record that says
    otherwise is "not genuine". A certificate replaced by a reprint, or whose entry was disqualified or withdrawn
    since, is no longer valid (exit 1). Reads only: nothing is written."""
    from milsetctl.certificates import verify_code
    from milsetctl.certificates.console import render_verify

    with _open(workspace, read_only=True) as ws:
        result = verify_code(ws, code)
    if as_json:
        spec = (("valid", "kind", "recipient", "entry_id", "issued_at", "year") if result["valid"]
                else ("valid", "superseded", "revoked"))
        sys.stdout.write(json.dumps({k: result[k] for k in spec if k in result}, ensure_ascii=False) + "\n")
    else:
        render_verify(out, result, ws.settings.tz)
    if not result["valid"]:
        raise typer.Exit(1)
# ==== end certificates ====


# ==== notices (milsetctl/notices/, milsetctl/mail.py) ====
@app.command()
def notices(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the notices (PDFs, mail-merge table, "
                                                 "mail/ with the .eml files).", file_okay=False, metavar="DIR",
                                                 show_default="WORKSPACE/notices")] = None,
    eml: Annotated[bool, typer.Option("--eml", help="Also write one ready-to-send .eml per contestant: the letter "
                                      "as text, the notice and the certificates attached ([mail] from).")] = False,
    send: Annotated[bool, typer.Option("--send", help="Send the .eml files over SMTP ([mail] in contest.toml; the "
                                       "password from the environment variable [mail] password_env). Each "
                                       "contestant once: a re-run sends only what was not sent.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --send: list who would get a message; send "
                                          "nothing.")] = False,
    resend: Annotated[list[str] | None, typer.Option("--resend", help="With --send: send to this contestant (ID or "
                                                     "entry ID) again, although sent before; repeat the option.",
                                                     metavar="ID")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Tell every contestant their result: one PDF letter each (what happened, why an entry was not judged, the
    award and its certificate code, what comes next), in the languages of [notices] languages, and a mail-merge
    table (XLSX, CSV). --eml writes the e-mails, --send sends them."""
    from milsetctl.mail import MailError
    from milsetctl.notices import NoticeError, make_notices, send_notices
    from milsetctl.notices.console import notice_progress, render_notices, render_sent, send_progress

    if (dry_run or resend) and not send:
        _fail("--dry-run and --resend go with --send", 2)
    with _open(workspace) as ws:
        try:
            with notice_progress(err) as progress:
                batch = make_notices(ws, out_dir, eml=eml or send, progress=progress)
        except NoticeError as exc:
            _fail(str(exc), exc.code)
        for note in batch.warnings:
            _warn(note)
        report = None
        if send:
            try:
                with send_progress(err) as sending:
                    report = send_notices(ws, batch, dry_run=dry_run, resend=resend, progress=sending)
            except MailError as exc:
                _fail(str(exc), exc.code)
        if as_json:
            _print_json({**batch.as_json(), **({"mail": report.as_json()} if report is not None else {})})
        else:
            render_notices(out, batch)
            if report is not None:
                render_sent(out, report)
        if report is not None and not report.complete:
            raise typer.Exit(1)
# ==== end notices ====


# ==== report ====
@app.command("report")
def report_cmd(
    workspace: WorkspaceOpt = Path("."),
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="The HTML page to write (default: "
                                                  "reports/contest-report.html in the workspace).",
                                                  dir_okay=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (the tables) to stdout.")] = False,
) -> None:
    """The contest in numbers: one self-contained HTML page with charts (entries by region, province and
    category, rejection reasons, scores per juror and criterion, agreement, awards), and the same tables here."""
    from milsetctl.report.contest import publish_contest_report
    from milsetctl.report.contest_console import render_contest

    with _open(workspace) as ws:
        path = out_file if out_file is not None else ws.root / "reports" / "contest-report.html"
        if _inside(path, ws.settings.source):
            _fail(f"--out {path}: inside the submissions folder {ws.settings.source}; nothing may be written there",
                  2)
        try:
            report = publish_contest_report(ws, path)
        except OSError as exc:
            _fail(f"{path}: cannot write the report ({exc.strerror or exc})", 1)
        if as_json:
            _print_json({**report.as_json(), "report": str(path)})
        else:
            render_contest(out, report, str(path))
# ==== end report ====


# ==== members, fees and regions (milsetctl/members/) ====
members_app = typer.Typer(help="The member roster: import, list, dues status, export.", no_args_is_help=True)
app.add_typer(members_app, name="members")
fees_app = typer.Typer(help="Registration fees: quotes at the member's or standard rate, refunds.",
                       no_args_is_help=True)
app.add_typer(fees_app, name="fees")


def _settings_only(workspace: Path):  # type: ignore[no-untyped-def]
    """The workspace's settings, or the defaults where there is no workspace (a refund needs no contest)."""
    from milsetctl import settings as settings_mod
    from milsetctl.workspace import is_workspace

    try:
        return settings_mod.load(workspace / "contest.toml") if is_workspace(workspace) else settings_mod.defaults()
    except settings_mod.SettingsError as exc:
        _fail(str(exc), 2)


def _day_option(text: str | None, settings, option: str):  # type: ignore[no-untyped-def]
    """A day given as an option, read by the project's date reader ([dates] order settles 11/07/2022, else exit 2)."""
    from milsetctl.dates import DateError, read_options

    if text is None:
        return None
    try:
        return read_options({option: text}, settings.tz, settings.dates_order)[option].in_zone(settings.tz).day
    except DateError as exc:
        _fail(str(exc), 2)


@members_app.command("import")
def members_import(
    roster: Annotated[Path, typer.Argument(help="The roster: .csv (any encoding Excel writes) or .xlsx with "
                                           "organisation, country, region, contact, email, member_since, "
                                           "fee_paid_until (Chinese headers too).", exists=True, dir_okay=False,
                                           metavar="ROSTER")],
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Import or update the member roster; a re-import updates each organisation by name and keeps the history.

    A bad row is named (file, row, cell) and left out; the others are imported (exit 1 when any row was left out).
    """
    from milsetctl.members import RosterError, import_roster
    from milsetctl.members.console import render_import

    with _open(workspace) as ws:
        try:
            result = import_roster(ws, roster)
        except RosterError as exc:
            _fail(str(exc), 1)
    for note in result.notes:
        err.print(f"[bold]note:[/] {escape(note)}", soft_wrap=True)
    for problem in result.problems:
        _error(problem)
    _show(result, render_import, as_json)
    if result.problems:
        raise typer.Exit(1)


@members_app.command("list")
def members_list(
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """List the member organisations as the roster holds them."""
    from milsetctl.members import member_rows
    from milsetctl.members.console import render_members

    with _open(workspace, read_only=True) as ws:
        rows = member_rows(ws)
    if as_json:
        _print_json({"members": rows})
    else:
        render_members(out, rows)


@members_app.command("status")
def members_status(
    on: Annotated[str | None, typer.Option("--on", help="The day to judge on (default: today in the contest "
                                           "time zone).", metavar="DATE")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Each member's dues on a day: in good standing, overdue (with days), or lapsed after the grace period.

    Good standing lasts to the end of the `fee paid until` day; the grace period is [members] grace_days."""
    from milsetctl.members import member_status
    from milsetctl.members.console import render_status

    with _open(workspace, read_only=True) as ws:
        result = member_status(ws, _day_option(on, ws.settings, "--on"))
    _show(result, render_status, as_json)


@members_app.command("export")
def members_export(
    file: Annotated[Path, typer.Argument(help="The file to write: .csv or .xlsx.", dir_okay=False,
                                         metavar="FILE")],
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Write the roster (organisation, country, region, contact, email, member_since, fee_paid_until); it imports
    back without loss."""
    from milsetctl.members import export_roster
    from milsetctl.members.sheets import SheetError

    with _open(workspace) as ws:
        if _inside(file, ws.settings.source):
            _fail(f"{file}: inside the submissions folder {ws.settings.source}; nothing may be written there", 2)
        try:
            written, count = export_roster(ws, file)
        except SheetError as exc:
            _fail(str(exc), exc.code)
    out.print(f"{count} members written to [bold]{escape(str(written))}[/]", soft_wrap=True)


@fees_app.command("quote")
def fees_quote(
    event: Annotated[str, typer.Argument(help="The event as the settings name it: ESI, ESR, photo-contest...",
                                         metavar="EVENT")],
    org: Annotated[str | None, typer.Option("--org", help="The organisation: its name (or a part only it has) or "
                                            "member ID.", metavar="ORG")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """The registration fee for an event: the member's rate for an organisation in good standing on the event's
    date, the standard rate otherwise. Rates per event in contest.toml [fees.events.*]."""
    from milsetctl.members.console import render_quote
    from milsetctl.members.fees import FeeInputError, quote_fee

    with _open(workspace, read_only=True) as ws:
        try:
            quote = quote_fee(ws, event, org)
        except FeeInputError as exc:
            _fail(str(exc), 2)
    _show(quote, render_quote, as_json)


@fees_app.command("refund")
def fees_refund(
    paid: Annotated[str | None, typer.Option("--paid", help="The amount paid, e.g. 1000.00 (in the settings' "
                                             "currency).", metavar="AMOUNT")] = None,
    registered_on: Annotated[str | None, typer.Option("--registered-on", help="When the registration was made.",
                                                      metavar="DATE")] = None,
    withdrawn_on: Annotated[str | None, typer.Option("--withdrawn-on", help="When it was withdrawn: a day, or a "
                                                     "day and time (contest time zone unless given).",
                                                     metavar="DATE")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="A .csv/.xlsx of withdrawals (paid, registered_on, "
                                               "withdrawn_on; other columns carried through) instead of the "
                                               "three options.", exists=True, dir_okay=False,
                                               metavar="FILE")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="With --batch: the table to write (.xlsx or "
                                                  ".csv).", dir_okay=False, show_default="fees/refunds-BATCH.xlsx in "
                                                  "the workspace, BATCH the --batch file's name",
                                                  metavar="FILE")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """The call's refund rule: a withdrawal on or before the registration deadline is refunded minus 25%
    (materials and service fee); a later one gets nothing. Exact amounts, rounded half-up to the currency's
    minor unit; the deadline's whole day counts, in the contest time zone."""
    from milsetctl.members.console import render_refund, render_refund_batch
    from milsetctl.members.fees import FeeInputError, compute_refund, refund_batch
    from milsetctl.members.sheets import SheetError, table_format
    from milsetctl.settings import SettingsError

    settings = _settings_only(workspace)
    if batch is None:
        missing = [name for name, value in (("--paid", paid), ("--registered-on", registered_on),
                                            ("--withdrawn-on", withdrawn_on)) if value is None]
        if missing:
            _fail(f"missing {', '.join(missing)} (or --batch FILE for a table of withdrawals)", 2)
        try:
            refund = compute_refund(paid, registered_on, withdrawn_on, settings)
        except FeeInputError as exc:
            _fail(str(exc), 2)
        except SettingsError as exc:
            _fail(str(exc), 2)
        _show(refund, render_refund, as_json)
        return
    if paid is not None or registered_on is not None or withdrawn_on is not None:
        _fail("--batch reads every withdrawal from the file: leave out --paid, --registered-on, --withdrawn-on", 2)
    target = out_file or (workspace / "fees" / f"refunds-{batch.stem}.xlsx")
    try:
        table_format(target)
    except SheetError as exc:
        _fail(f"--out: {exc}", 2)
    if settings.source and _inside(target, settings.source):
        _fail(f"--out {target}: inside the submissions folder {settings.source}; nothing may be written there", 2)
    try:
        result = refund_batch(batch, settings, target)
    except FeeInputError as exc:
        _fail(str(exc), 1)
    except SheetError as exc:
        _fail(str(exc), exc.code)
    for note in result.notes:
        err.print(f"[bold]note:[/] {escape(note)}", soft_wrap=True)
    for problem in result.problems:
        _error(problem)
    from milsetctl.workspace import is_workspace

    if is_workspace(workspace):
        with _open(workspace) as ws:
            ws.ledger.audit("fees-refund-batch", {"source": str(batch), "out": str(result.out),
                                                  "withdrawals": len(result.rows), "problems": len(result.problems),
                                                  **result.as_json()["totals"]})
            from milsetctl.stages import record_outputs

            record_outputs(ws, "refund-table", [result.out or target])  # names: purge knows it as milsetctl's
    _show(result, render_refund_batch, as_json)
    if result.problems:
        raise typer.Exit(1)


@app.command()
def regions(
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """China's regional rounds: each region's provinces (from contest.toml [regions]) and, in a workspace, its
    entries; the provinces no region lists, and the entries from them (reported, never lost)."""
    from milsetctl.members.console import render_regions
    from milsetctl.members.regions import region_report
    from milsetctl.workspace import is_workspace

    if is_workspace(workspace):
        with _open(workspace, read_only=True) as ws:
            report = region_report(ws.settings, ws.ledger.entries())
        with_entries = True
    else:
        report = region_report(_settings_only(workspace))
        with_entries = False
    if as_json:
        _print_json(report.as_json())
    else:
        render_regions(out, report, with_entries)
# ==== end members, fees and regions ====


# ==== help as written, global options anywhere ====
def _escape_markup(command: Any) -> None:
    """Help is read as rich markup (rich_markup_mode="rich"), where `[members] grace_days` or `[dates] order`
    would be eaten as a style tag: escaped once, when typer builds the command, every bracket shows as written."""
    for item in (command, *command.params):
        for attr in ("help", "short_help", "epilog"):
            text = getattr(item, attr, None)
            if isinstance(text, str):
                setattr(item, attr, escape(text))


class _Argument(typer.core.TyperArgument):
    """An argument whose name (SOURCE, ENTRY, SHEET...) is the whole placeholder: no `<str>` or `<list[Path]>`
    beside it in --help."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _plain_placeholders(params: list[Any], ctx: Any) -> None:
    """No `<bool>` beside a flag (--json, --help), and a word (DIR, FILE, TEXT) where an option names no
    metavar of its own, as the others say N, FILE or SECONDS."""
    for param in params:
        if isinstance(param, typer.core.TyperArgument):
            param.__class__ = _Argument
        elif getattr(param, "is_flag", False) or getattr(param, "count", False):
            if param.metavar is None:
                param.metavar = ""
        elif param.metavar is None and hasattr(param, "display_type"):
            word = str(param.display_type(ctx)).strip("<>")
            param.metavar = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER"}.get(word, word.upper())


class _PlainHelp:
    """Help shown as written (rich markup escaped once, when the command is built), no type placeholders."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _escape_markup(self)

    def get_params(self, ctx: Any) -> list[Any]:
        params = list(super().get_params(ctx))  # type: ignore[misc]
        _plain_placeholders(params, ctx)
        plain_params(params)  # their values read without pydantic (typer 0.29 builds a TypeAdapter for each)
        return params


class _Command(_PlainHelp, typer.core.TyperCommand):
    """Every milsetctl command."""


class _Group(_PlainHelp, typer.core.TyperGroup):
    """A command group (jury, members, fees, and the top level): the same help as the commands."""


_GROUP_VALUE_OPTIONS = ("--by", "--wait", "--workspace", "-w")  # the top level's options that take a value
_ANYWHERE = ("--by", "--wait")  # of those, the ones typed after the command too (-w: every command has its own)


def _hoist_globals(args: list[str]) -> list[str]:
    """`milsetctl decide E0007 accept --reason x --by Anna` read as `milsetctl --by Anna decide ...`: --by and
    --wait typed after the command move before it, where the top level reads them. Nothing after `--` moves;
    the same option before and after the command with another value is a usage error (exit 2)."""
    head: list[str] = []
    given: dict[str, str] = {}
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":  # the top level's own, up to COMMAND
        name, eq, value = args[i].partition("=")
        head.append(args[i])
        i += 1
        if name in _GROUP_VALUE_OPTIONS and not eq and i < len(args):
            value = args[i]
            head.append(args[i])
            i += 1
        if name in _ANYWHERE:
            given[name] = value
    hoisted: list[str] = []
    rest: list[str] = []
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if args[i] == "--":
            rest.extend(args[i:])
            break
        if name not in _ANYWHERE:
            rest.append(args[i])
            i += 1
            continue
        if not eq and i + 1 >= len(args):
            _fail(f"{name} needs a value ({name} NAME)" if name == "--by" else f"{name} needs a value in seconds", 2)
        if not eq:
            value = args[i + 1]
        if name in given and given[name] != value:
            _fail(f"{name} given twice: {given[name]} before the command and {value} after it; give it once", 2)
        given[name] = value
        hoisted.extend(args[i:i + (1 if eq else 2)])
        i += 1 if eq else 2
    return head + hoisted + rest


# ==== audit, export --anonymised, purge (milsetctl/audit.py, milsetctl/privacy.py) ====
class _RecordingGroup(_Group):
    """The top-level command group, remembering the command line it parsed (for the audit trail: the console
    script and CliRunner alike)."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        _ARGV[:] = list(args)
        return super().parse_args(ctx, _head_alone(_hoist_globals(list(args))))

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        finally:  # a library call after this command (tests) is not recorded as this operator or command
            from milsetctl.ledger import set_invocation

            set_invocation(None, None)
            _ARGV.clear()
            _SEARCHED[0] = False


_ARGV: list[str] = []
app.info.cls = _RecordingGroup
_PRINT_HEAD = "-"  # `audit --head` with no HASH: print the head (typer has no option with an optional value)


def _head_alone(args: list[str]) -> list[str]:
    """`audit --head` followed by nothing or by another option gets the value that says "print the head"."""
    if "audit" not in args:
        return args
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--head" and (i + 1 == len(args) or args[i + 1].startswith("-")):
            out.append(_PRINT_HEAD)
    return out


def _record_invocation(by: str | None) -> None:
    """Every audit record of this command carries the operator (--by, else MILSETCTL_USER, else the login name)
    and the command line."""
    import shlex

    from milsetctl.ledger import set_invocation

    set_invocation(by, "milsetctl " + shlex.join(_ARGV) if _ARGV else None)


@app.command("audit")
def audit_cmd(
    workspace: WorkspaceOpt = Path("."),
    entry: Annotated[str | None, typer.Option("--entry", "-e", help="Only the records naming this entry.",
                                              metavar="ENTRY")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k", help="Only these actions (decide, validate, "
                                                   "anonymise, score, awards, certificates, member-change, "
                                                   "purge...); repeat for several.", metavar="KIND")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show the newest N matching records (0: all).",
                                       min=0, metavar="N")] = 50,
    verify: Annotated[bool, typer.Option("--verify", help="Check the hash chain: exit 1 naming the first record "
                                         "edited, removed or moved.")] = False,
    head: Annotated[str | None, typer.Option("--head", help="Alone: print the head (the last record and its hash) "
                                             "to keep outside the workspace. With --verify: the head kept earlier, "
                                             "which must still be in the trail.", metavar="[HASH]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Who did what to the contest, and when; --verify checks nobody edited the record.

    Every decision, run, award, certificate batch, member change and purge, in the contest's time zone, with the
    operator (--by) and the command line, each record linked to the one before by a SHA-256 hash; the last one
    sealed with the workspace key. Keep `audit --head` outside the workspace: `audit --verify --head HASH` later
    shows a trail rewritten even by someone holding the key."""
    from milsetctl.audit import KNOWN_ACTIONS, parse_kept_head, trail, unknown_kinds, verify_chain
    from milsetctl.trust_console import render_chain_check, render_trail

    kept = None
    if head is not None and head != _PRINT_HEAD:
        try:
            kept = parse_kept_head(head)
        except ValueError as exc:
            _fail(f"--head: {exc}", 2)
    with _open(workspace, read_only=True) as ws:
        tz, zone = ws.settings.tz, str(ws.settings.raw["contest"]["timezone"])
        if head == _PRINT_HEAD and not verify:
            check = verify_chain(ws.ledger)
            if not check.ok:
                _fail(f"the audit trail is BROKEN{f' at record {check.broken_id}' if check.broken_id else ''}: "
                      f"{check.problem}; no head to keep (milsetctl audit --verify)", 1)
            if as_json:
                _print_json({"head": {"record": check.head_record, "hash": check.head}})
            elif check.head is not None:
                sys.stdout.write(f"{check.head_record} {check.head}\n")
            else:
                _warn("the audit trail is empty: no head yet")
            return
        if verify or kept is not None:
            check = verify_chain(ws.ledger, kept)
            if as_json:
                _print_json({"verify": check.as_json()})
            else:
                render_chain_check(out, check, tz)
            raise typer.Exit(0 if check.ok else 1)
        kinds = [k for item in (kind or []) for k in item.replace(",", " ").split()]
        for bad, near in unknown_kinds(ws.ledger, kinds):
            _fail(f"--kind {bad}: no such action" + (f"; did you mean {' or '.join(near)}?" if near else "")
                  + f" (actions: {', '.join(KNOWN_ACTIONS)})", 2)
        records = trail(ws.ledger, entry=entry, kinds=kinds or None, limit=limit or None)
        total = len(ws.ledger.audit_rows())
        check = verify_chain(ws.ledger)  # cheap: a listing never shows an edited record without saying so
    if as_json:
        _print_json({"timezone": zone, "total": total, "records": [r.as_json(tz) for r in records],
                     "verify": check.as_json()})
    else:
        render_trail(out, records, tz, zone, total, check)
    if not check.ok and as_json:  # the listing ran (exit 0); the banner is in the table view, this for scripts
        _warn(f"the audit trail is BROKEN{f' at record {check.broken_id}' if check.broken_id else ''}: "
              f"{check.problem} (milsetctl audit --verify exits 1 on it)")


@app.command("export")
def export_cmd(
    out_file: Annotated[Path, typer.Argument(help="The file to write: .csv (plus FILE-statistics.csv) or .xlsx "
                                             "(sheets results and statistics).", dir_okay=False,
                                             metavar="FILE")],
    anonymised: Annotated[bool, typer.Option("--anonymised", "--anonymized", help="Results and statistics "
                                             "without names, e-mails, schools or contestant IDs.")] = False,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Results and statistics to share, without personal data.

    Entries by anonymous ID with category, region, status, rules, score, rank and award; no names, e-mails,
    schools or contestant IDs."""
    from milsetctl.privacy import PrivacyError, export_anonymised
    from milsetctl.trust_console import render_export

    if not anonymised:
        _fail("only --anonymised exports exist here (the award list with names: milsetctl awards --export FILE)", 2)
    if out_file.suffix.lower() not in (".csv", ".xlsx"):
        _fail(f"{out_file.name}: export to .csv or .xlsx", 2)
    with _open(workspace) as ws:
        if _inside(out_file, ws.settings.source):
            _fail(f"{out_file}: inside the submissions folder {ws.settings.source}; nothing may be written there", 2)
        try:
            result = export_anonymised(ws, out_file)
        except PrivacyError as exc:
            _fail(str(exc), 1)
    _show(result, render_export, as_json)


@app.command("purge")
def purge_cmd(
    personal_data: Annotated[bool, typer.Option("--personal-data", help="Remove names, e-mails, schools, "
                                                "contestant IDs, file names and titles (required: says what "
                                                "is purged).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be removed; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (needed when not run in a "
                                      "terminal).")] = False,
    despite_broken_audit: Annotated[bool, typer.Option(
        "--despite-broken-audit", help="Purge even though `audit --verify` finds the trail broken; the purge's "
        "record says at which record, and vouches for nothing from there on.")] = False,
    outputs: Annotated[bool, typer.Option("--outputs", help="Also delete the official outputs that name people "
                                          "(certificates, gallery, award lists, nominations, score sheets, refund "
                                          "tables), in the workspace and wherever milsetctl wrote them; without "
                                          "it they are kept and listed.")] = False,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """After the contest: delete the participants' personal data, keep the results.

    Names, e-mails, schools and contestant IDs go from the ledger and the caches (thumbnails); anonymous results,
    the audit trail and issued certificate codes stay verifiable. Every file milsetctl wrote is found from its
    record of outputs, wherever it went: working files holding personal data go, official outputs are listed
    (--outputs: they go too). Cannot be undone."""
    from milsetctl.privacy import PrivacyError, purge_personal_data
    from milsetctl.trust_console import render_purge

    if not personal_data:
        _fail("say what to purge: milsetctl purge --personal-data [--dry-run]", 2)
    with _open(workspace) as ws:
        try:
            if not dry_run and not yes:
                preview = purge_personal_data(ws, dry_run=True, outputs=outputs)
                if preview.audit_broken and not despite_broken_audit:
                    purge_personal_data(ws, dry_run=False)  # refuses with the one clear message, changing nothing
                if not sys.stdin.isatty():
                    _fail("purge cannot be undone: add --yes to run it without a terminal (--dry-run shows what "
                          "it would remove)", 2)
                render_purge(err, preview, asking=True)
                if not typer.confirm("Remove this personal data for good? It cannot be undone.", default=False,
                                     err=True):
                    err.print("Nothing removed.")
                    raise typer.Exit(1)
            report = purge_personal_data(ws, dry_run=dry_run, despite_broken_audit=despite_broken_audit,
                                         outputs=outputs)
        except PrivacyError as exc:
            _fail(str(exc), 1)
        except (OSError, ValueError) as exc:  # the ledger's transaction rolled back: say so, no traceback
            _fail(f"the purge stopped: {exc}. The ledger is unchanged (one transaction); run it again once fixed", 1)
    _show(report, render_purge, as_json)
# ==== end audit, export, purge ====


# ==== archive: this contest's fingerprints for the next years' past-entry check (milsetctl/archive.py) ====
@app.command("archive")
def archive_cmd(
    out_file: Annotated[Path | None, typer.Option("--out", help="The archive file to write or append to (SQLite). "
                                                  "Default: archive-YEAR-STAGE.sqlite in the workspace.",
                                                  dir_okay=False, metavar="FILE", show_default=False)] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """Keep this contest's photo fingerprints for the next years: a photo entered again is found (past-entry).

    Kept per photo: content hash, perceptual hashes, a 480 px thumbnail, entry ID, title, status and award.
    No name or other personal data is kept.
    An existing archive file keeps its earlier years; this contest's rows are replaced.
    Next year's contest.toml names the file: [archive] paths = ["FILE"]."""
    from milsetctl.archive import ArchiveError, write_archive

    with _open(workspace) as ws:
        if out_file is not None and _inside(out_file, ws.settings.source):
            _fail(f"{out_file}: inside the submissions folder {ws.settings.source}; nothing may be written there", 2)
        try:
            result = write_archive(ws, out_file)
        except ArchiveError as exc:
            _fail(str(exc), exc.code)
    if as_json:
        _print_json(result.as_json())
        return
    c = result.contest
    out.print(f"Archived {c.photos} photos of {escape(c.label())} to [bold]{escape(str(result.path))}[/]"
              f"{' (replacing its earlier rows)' if result.replaced else ''}", soft_wrap=True)
    out.print(f"  {result.thumbnails} with a thumbnail for the content check, {c.photos - result.thumbnails} on their "
              f"hashes alone; {result.awarded} awarded" + ("" if result.awards_known else
                                                           " (no awards yet: run `milsetctl archive` again after "
                                                           "`milsetctl awards` to keep who won)"), soft_wrap=True)
    if result.skipped:
        out.print(f"  left out (no readable photo): {escape(', '.join(result.skipped))}", soft_wrap=True)
    if result.unlisted:
        out.print(f"  left out (a photo no manifest row names, nobody's entry): {escape(', '.join(result.unlisted))}",
                  soft_wrap=True)
    out.print("  the file holds: " + escape("; ".join(f"{a.label()}: {a.photos}" for a in result.contests)),
              soft_wrap=True)
    out.print(escape(f'  next year, in contest.toml: [archive] paths = ["{result.path}"]'), soft_wrap=True)
# ==== end archive ====

def _install_command_classes(typer_app: typer.Typer) -> None:
    """Every command and group of milsetctl built by _Command/_Group (typer builds them when the app runs)."""
    for command in typer_app.registered_commands:
        if command.cls is None or command.cls is typer.core.TyperCommand:
            command.cls = _Command
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            group.typer_instance.info.cls = _Group
            _install_command_classes(group.typer_instance)


_install_command_classes(app)


def main() -> None:
    """The console script. A closed pipe (`milsetctl validate | head -3`) is the reader having seen enough, not an
    error: the run's results are in the ledger already, so the exit status is the command's own (0). A worker
    process killed from outside (concurrent.futures' BrokenExecutor) is one line, exit 1: finished work is kept."""
    import errno
    import sqlite3
    from concurrent.futures import BrokenExecutor

    try:
        app()
    except SystemExit as exc:
        if exc.code not in (0, None) and _stdout_closed():
            _quiet_stdout()
            raise SystemExit(0) from None
        raise
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        _quiet_stdout()
        raise SystemExit(0) from None
    except BrokenExecutor:  # a worker process killed from outside: the kernel's out-of-memory killer, most often
        _error("a worker process was stopped from outside while it worked (most often the system ran out of memory "
               "and ended it). What was finished is saved: run the same command again to continue, with --jobs 1 "
               "to use less memory")
        raise SystemExit(1) from None
    except sqlite3.OperationalError as exc:  # the workspace lock keeps milsetctl's writers apart; a program outside
        if "locked" not in str(exc) and "busy" not in str(exc):  # it (a script, a database browser) may still not
            raise
        _error(f"the ledger is busy: another program has held a write lock on it for 30 s ({exc}). Close it (a "
               "script, or a database browser with unsaved changes) and run the command again "
               "(what was committed before is kept)")
        raise SystemExit(1) from None


def _stdout_closed() -> bool:
    """True when the reader of stdout has gone (typer/click turn EPIPE into exit 1 and wrap the streams)."""
    import select

    if _Console.pipe_closed or type(sys.stdout).__name__ == "PacifyFlushWrapper":
        return True
    if sys.__stdout__ is None:  # no stdout at all (pythonw)
        return False
    try:
        poller = select.poll()
        poller.register(sys.__stdout__.fileno(), select.POLLERR)
        return any(ev & select.POLLERR for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush raises no second BrokenPipeError."""
    import os

    if sys.__stdout__ is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
    except (AttributeError, OSError, ValueError):
        pass


if __name__ == "__main__":
    main()
