"""Every file milsetctl writes goes through milsetctl/fsutil.py (a temporary name, then one rename), so a killed run
never leaves a half-written file under its final name (issue 16: "fsutil for every file the tool writes").

`test_no_direct_writes` reads the package's source with `ast` and lists every call that writes a file: `open` for
writing, `Path.write_text`/`write_bytes`, `.save(path)` (Pillow, openpyxl), `.write_pdf(path)` (WeasyPrint),
`.to_csv(path)` (pandas), `ZipFile(path, "w")`, `shutil.copy*`/`move`, and the hand-made temporary-then-rename
(`os.replace`, `os.rename`, `Path.replace`). A write passes when its target is
- the temporary name or file `fsutil.atomic_path` / `atomic_write` gives (`with atomic_path(path) as tmp`),
- an in-memory buffer (`io.BytesIO()`),
- or a parameter of a helper whose every use in its module sits inside such a `with` (or is handed to a function
  of the module that opens one: privacy's `_atomic(path, lambda tmp: ...)`).
Anything else must be in ALLOWED with the reason; an ALLOWED entry that no longer matches fails too, so the list
only shrinks.
"""

from __future__ import annotations

import ast
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from milsetctl.fsutil import atomic_path, temp_name, write_bytes_atomic

PACKAGE = Path(__file__).resolve().parents[1] / "milsetctl"
FSUTIL_CONTEXTS = {"atomic_path", "atomic_write"}  # yield the temporary name / the open temporary file
IN_MEMORY = {"BytesIO", "StringIO"}
SAVERS = {"save", "savefig", "write_pdf", "to_csv", "to_excel", "to_json", "to_parquet", "to_feather"}
COPIES = {"copy", "copy2", "copyfile", "copytree", "move"}

# (file, function, call) -> why it may write directly. Remove an entry when its writer goes through fsutil.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("auditchain.py", "make_key", "os.open"): "the workspace key is created 0600 and published with os.link, so that "
    "two first users never mix keys (the first one's wins; fsutil's rename would replace it). Audit trail's file.",
    ("auditchain.py", "make_key", "os.fdopen"): "as above: writes the key into its own 0600 temporary file",
    ("auditchain.py", "make_key", "os.replace"): "as above: only on a drive without hard links",
    ("certificates/fonts.py", "batch_fonts", "write_bytes"): "subset fonts for one WeasyPrint run, in a mkdtemp "
    "folder deleted when the batch ends: nobody keeps them, nobody reads them after a kill",
    ("ingest/nominations.py", "extract_package", "open"): "a nomination zip's members are extracted into a "
    "temporary folder that is renamed whole when complete (fsutil renames files, not folders)",
    ("ingest/nominations.py", "extract_package", "write_text"): "as above: the folder's completion marker, last",
    ("ingest/nominations.py", "extract_package", "os.replace"): "as above: the one rename of the finished folder",
    ("jury/run.py", "_move_stale_sheets", "os.replace"): "moves a finished sheet into withdrawn/: one rename of a "
    "whole file, nothing written",
}


@dataclass(frozen=True)
class Write:
    file: str  # relative to milsetctl/
    function: str
    call: str
    line: int

    @property
    def key(self) -> tuple[str, str, str]:
        return self.file, self.function, self.call


def _name(node: ast.AST) -> str:
    """`open`, `os.replace`, `write_text` (attribute calls on anything but a module name keep only the attribute)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id in ("os", "shutil", "zipfile", "io"):
            return f"{node.value.id}.{node.attr}"
        return node.attr
    return ""


def _arg(call: ast.Call, index: int, *keywords: str) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg in keywords), None)


def _writes_mode(mode: ast.expr | None) -> bool:
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(c in mode.value for c in "wax+")


def write_target(call: ast.Call) -> tuple[str, ast.expr | None] | None:
    """(the call's name, the path or file it writes) when `call` writes a file; None otherwise."""
    name = _name(call.func)
    short = name.rsplit(".", 1)[-1]
    if name == "open":
        return (name, call.args[0] if call.args else None) if _writes_mode(_arg(call, 1, "mode")) else None
    if name == "os.fdopen":
        return (name, call.args[0] if call.args else None) if _writes_mode(_arg(call, 1, "mode")) else None
    if name == "os.open":
        flags = ast.unparse(_arg(call, 1, "flags") or ast.Constant(0))
        return (name, call.args[0]) if any(f in flags for f in ("O_WRONLY", "O_RDWR", "O_CREAT")) else None
    if short == "open" and isinstance(call.func, ast.Attribute):  # Path.open("w")
        return (name, call.func.value) if _writes_mode(_arg(call, 0, "mode")) else None
    if short in ("write_text", "write_bytes") and isinstance(call.func, ast.Attribute):
        return name, call.func.value
    if short in SAVERS and isinstance(call.func, ast.Attribute):
        target = _arg(call, 0, "fp", "target", "path_or_buf", "excel_writer", "fname", "filename")
        return (name, target) if target is not None else None
    if short == "ZipFile":
        return (name, call.args[0] if call.args else None) if _writes_mode(_arg(call, 1, "mode")) else None
    if name.startswith("shutil.") and short in COPIES:
        return name, _arg(call, 1, "dst")
    if name in ("os.replace", "os.rename"):
        return name, _arg(call, 1, "dst")
    if short in ("replace", "rename") and isinstance(call.func, ast.Attribute) and len(call.args) == 1 \
            and not call.keywords and not isinstance(call.args[0], ast.Constant):  # Path.replace(target)
        return name, call.args[0]
    return None


class _Module:
    """One module's tree with parent links, its fsutil-bound names and its helpers' uses."""

    def __init__(self, source: str, filename: str = "<source>") -> None:
        self.tree = ast.parse(source, filename=filename)
        self.parent: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node
        functions = [n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        # functions that open an fsutil context: a call to one of them hands its argument the temporary name
        self.wrappers = {f.name for f in functions if any(self._fsutil_with(w) for w in ast.walk(f))}

    @staticmethod
    def _fsutil_item(item: ast.withitem) -> bool:
        return isinstance(item.context_expr, ast.Call) and _name(item.context_expr.func) in FSUTIL_CONTEXTS

    def _fsutil_with(self, node: ast.AST) -> bool:
        return isinstance(node, ast.With | ast.AsyncWith) and any(self._fsutil_item(i) for i in node.items)

    def ancestors(self, node: ast.AST) -> list[ast.AST]:
        out = []
        while node in self.parent:
            node = self.parent[node]
            out.append(node)
        return out

    def qualname(self, node: ast.AST) -> str:
        names = [a.name for a in reversed(self.ancestors(node))
                 if isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        return ".".join(names) or "<module>"

    @staticmethod
    def _in_memory(node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and _name(node.func).rsplit(".", 1)[-1] in IN_MEMORY

    def _bound_safely(self, target: ast.Name) -> bool:
        """`target` is used inside the `with atomic_path(...) as NAME` (or `with io.BytesIO() as NAME`) that binds
        it, or its function assigns it `io.BytesIO()`."""
        up = self.ancestors(target)
        for node in up:
            if isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    if (self._fsutil_item(item) or self._in_memory(item.context_expr)) \
                            and isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == target.id:
                        return True
        function = next((a for a in up if isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef)), None)
        return function is not None and any(
            isinstance(n, ast.Assign) and self._in_memory(n.value)
            and any(isinstance(t, ast.Name) and t.id == target.id for t in n.targets) for n in ast.walk(function))

    def _helper_used_safely(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """Every use of `function` in the module is inside an fsutil `with`, or handed to a wrapper that opens one."""
        uses = [n for n in ast.walk(self.tree)
                if isinstance(n, ast.Name) and n.id == function.name and isinstance(n.ctx, ast.Load)]
        if not uses:
            return False
        for use in uses:
            up = self.ancestors(use)
            if not any(self._fsutil_with(a) for a in up) and not any(
                    isinstance(a, ast.Call) and _name(a.func) in self.wrappers for a in up):
                return False
        return True

    def safe(self, target: ast.expr | None) -> bool:
        if target is None:
            return False
        if ast.unparse(target) == "os.devnull":  # not a file
            return True
        if self._in_memory(target):
            return True
        if not isinstance(target, ast.Name):
            return False
        if self._bound_safely(target):
            return True
        function = next((a for a in self.ancestors(target) if isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef)),
                        None)
        if function is not None and target.id in {a.arg for a in function.args.args + function.args.kwonlyargs}:
            return self._helper_used_safely(function)
        return False


def direct_writes() -> list[Write]:
    """Every call in the package that writes a file without fsutil (fsutil.py itself aside)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "fsutil.py":
            continue
        module = _Module(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            hit = write_target(node)
            if hit is None:
                continue
            call, target = hit
            if not module.safe(target):
                found.append(Write(rel, module.qualname(node), call, node.lineno))
    return found


def test_no_direct_writes() -> None:
    writes = direct_writes()
    new = [w for w in writes if w.key not in ALLOWED]
    assert not new, ("files written without milsetctl/fsutil.py (a killed run would leave them half-written under "
                     "their final name; use atomic_path / atomic_write / write_*_atomic / copy_atomic, or add the "
                     "writer to ALLOWED with the reason):\n"
                     + "\n".join(f"  milsetctl/{w.file}:{w.line} {w.function}: {w.call}" for w in new))
    stale = sorted(set(ALLOWED) - {w.key for w in writes})
    assert not stale, f"ALLOWED lists writers that no longer write directly (remove them): {stale}"


# --- the guard's own reading ------------------------------------------------------------------------------------
def _guard(source: str) -> list[str]:
    """The calls the guard flags in `source`."""
    module = _Module(source)
    return [hit[0] for node in ast.walk(module.tree) if isinstance(node, ast.Call)
            and (hit := write_target(node)) is not None and not module.safe(hit[1])]


@pytest.mark.parametrize(("source", "flagged"), [
    ("def f(p):\n    p.write_text('x')", ["write_text"]),
    ("def f(p):\n    with open(p, 'w') as fh:\n        fh.write('x')", ["open"]),
    ("def f(p):\n    with open(p) as fh:\n        fh.read()", []),
    ("def f(p):\n    wb.save(p)", ["save"]),
    ("def f(p):\n    with atomic_path(p) as tmp:\n        wb.save(tmp)", []),
    ("def f(p):\n    with fsutil.atomic_write(p, 'wb') as fh, zipfile.ZipFile(fh, 'w') as zf:\n        pass", []),
    ("def f(p):\n    with zipfile.ZipFile(p, 'w') as zf:\n        pass", ["zipfile.ZipFile"]),
    ("def f(p):\n    buf = io.BytesIO()\n    im.save(buf, 'JPEG')", []),
    ("def f(p):\n    tmp = p.with_name('.x.tmp')\n    tmp.write_bytes(b'')\n    os.replace(tmp, p)",
     ["write_bytes", "os.replace"]),
    ("def f(src, dst):\n    shutil.copy2(src, dst)", ["shutil.copy2"]),
    ("def f(p):\n    HTML(string='').write_pdf(p)", ["write_pdf"]),
    ("def f(df, p):\n    df.to_csv(p, index=False)", ["to_csv"]),
    ("def f(s):\n    return s.replace('a', 'b')", []),
    ("def f():\n    fd = os.open(os.devnull, os.O_WRONLY)", []),
    # a helper handed the temporary name by every caller
    ("def _w(path):\n    wb.save(path)\ndef f(p):\n    with atomic_path(p) as tmp:\n        _w(tmp)", []),
    ("def _w(path):\n    wb.save(path)\ndef f(p):\n    _w(p)", ["save"]),
    # the temporary name is safe inside its `with` only, not for a same-named variable elsewhere
    ("def f(p):\n    with atomic_path(p) as tmp:\n        wb.save(tmp)\n"
     "def g(p):\n    tmp = p.with_name('.t')\n    wb.save(tmp)\n    os.replace(tmp, p)", ["save", "os.replace"]),
    ("def _atomic(p, write):\n    with atomic_path(p) as tmp:\n        write(tmp)\n"
     "def _w(path):\n    wb.save(path)\ndef f(p):\n    _atomic(p, lambda tmp: _w(tmp))", []),
])
def test_the_guard_sees_direct_writes(source: str, flagged: list[str]) -> None:
    assert sorted(_guard(source)) == sorted(flagged)


# --- fsutil itself ----------------------------------------------------------------------------------------------
def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_threads_writing_one_file_at_once(tmp_path: Path) -> None:
    """Two thumbnail threads may write the same cached file (two entries, one photo): each has its own temporary
    name, so neither loses its rename; the main thread keeps the `.NAME.PID.tmp` the crash tests look for."""
    target = tmp_path / "thumb.jpg"
    names: set[Path] = set()
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def write() -> None:
        try:
            names.add(temp_name(target))
            barrier.wait()
            for _ in range(50):
                write_bytes_atomic(target, b"x" * 100_000)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(names) == 4
    assert target.read_bytes() == b"x" * 100_000 and [p.name for p in tmp_path.iterdir()] == ["thumb.jpg"]
    assert temp_name(target).name == f".thumb.jpg.{os.getpid()}.tmp"
