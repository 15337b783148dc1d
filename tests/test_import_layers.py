"""The package's imports stay layered and free of cycles (issue 16; ARCHITECTURE.md: "nothing imports upward").

The graph is grimp's (import-linter's graph library): every import statement, at the top of a module, inside a
function, or under `if TYPE_CHECKING:`. Layers, bottom up:

- base: plain data (models), settings, the ledger and the small helpers every stage uses;
- readers: submissions, spreadsheets and photos read into models (ingest, probe);
- stages: everything else in the library (validate's pipeline, anonymise, jury, scoring, awards, certificates...);
- renderers: console.py, each stage's console.py, trust_console.py and report/: they format a result, never
  compute one, so no stage needs them;
- cli: cli.py and __main__.py.

A module may import its own layer or one below. Import-linter's contracts cannot say this (a layer may not contain
another, so `anonymise.console` cannot sit above `anonymise`; `acyclic_siblings` does not see a package's
__init__ importing a module that imports it back), hence this test.

`python tests/test_import_layers.py > graph.dot` prints the graph (stage packages as one node each, consoles
apart) for Graphviz: docs/import-graph.svg is drawn from it.
"""

from __future__ import annotations

import sys
from collections import defaultdict

import grimp
import pytest

PACKAGE = "milsetctl"
BASE = {
    "milsetctl", "milsetctl.models", "milsetctl.settings", "milsetctl.ledger", "milsetctl.audit",
    "milsetctl.auditchain", "milsetctl.fsutil", "milsetctl.timefmt", "milsetctl.hashing", "milsetctl.locking",
    "milsetctl.sheetcells", "milsetctl.money", "milsetctl.resources", "milsetctl.dates", "milsetctl.imageformat",
    "milsetctl.lazy",
}  # fmt: skip
READERS = ("milsetctl.ingest", "milsetctl.probe")
CLI = {"milsetctl.cli", "milsetctl.__main__"}
LAYERS = ("base", "readers", "stages", "renderers", "cli")

# Upward imports still there, each with the reason. An entry here is a debt: remove it with the import.
KNOWN_UPWARD = {
    ("milsetctl.settings", "milsetctl.rules"): "check_settings refuses a [rules] key that names no rule, and the "
    "rule IDs exist only once load_rules has imported the rule modules; moving that check to where the rules are "
    "loaded changes when the error is reported (cli.py loads settings directly too)",
}
# Cycles between sub-packages (not between modules) still there: anonymise's verify scan reads the juror's name out
# of a score sheet's file name as jury/sheets.py spells it, while jury builds its sheets from anonymise's blind
# view; scoring's round picks awards (awards.select) while the award export reads scoring's aggregate.
KNOWN_PACKAGE_CYCLES = [{"anonymise", "jury"}, {"awards", "scoring"}]


def layer(module: str) -> str:
    if module in CLI:
        return "cli"
    last = module.rsplit(".", 1)[-1]
    if last == "console" or last.endswith("_console") or module == "milsetctl.report" \
            or module.startswith("milsetctl.report."):
        return "renderers"
    if module in BASE:
        return "base"
    if any(module == r or module.startswith(r + ".") for r in READERS):
        return "readers"
    return "stages"


def group(module: str) -> str:
    """A module's node in the package-level graph: a top-level module, a sub-package, or a renderer of its own."""
    if layer(module) == "renderers" and not module.startswith("milsetctl.report"):
        return module.removeprefix("milsetctl.")
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def _edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}


def _where(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    lines = sorted({d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)})
    return f"{importer} -> {imported} (line {', '.join(map(str, lines))})"


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one node: each is a set of nodes in a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions(graph: grimp.ImportGraph) -> None:
    """report/__init__.py imports its renderers inside `_renderer` (pandas is slow to import): a graph without
    function-level imports would miss the cycles this test is for."""
    assert "milsetctl.report.html" in graph.find_modules_directly_imported_by("milsetctl.report")


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    edges = _edges(graph)
    cycles = strongly_connected(edges)
    shown = ["; ".join(_where(graph, a, b) for a in cycle for b in sorted(edges[a]) if b in cycle)
             for cycle in cycles]
    assert not cycles, "import cycles (move what both need into a module below them):\n" + "\n".join(shown)


def test_nothing_imports_upward(graph: grimp.ImportGraph) -> None:
    upward = []
    for importer, imported_set in _edges(graph).items():
        for imported in sorted(imported_set):
            if LAYERS.index(layer(importer)) < LAYERS.index(layer(imported)) \
                    and (importer, imported) not in KNOWN_UPWARD:
                upward.append(f"{_where(graph, importer, imported)}: {layer(importer)} imports {layer(imported)}")
    assert not upward, "imports upward (layers bottom up: " + " < ".join(LAYERS) + "):\n" + "\n".join(upward)


def test_no_new_cycle_between_packages(graph: grimp.ImportGraph) -> None:
    packages: dict[str, set[str]] = defaultdict(set)
    for importer, imported_set in _edges(graph).items():
        for imported in imported_set:
            if group(importer) != group(imported) and (importer, imported) not in KNOWN_UPWARD:
                packages[group(importer)].add(group(imported))
    new = [cycle for cycle in strongly_connected(packages)
           if not any(set(cycle) <= known for known in KNOWN_PACKAGE_CYCLES)]
    assert not new, f"sub-packages importing each other: {new}"


def dot(graph: grimp.ImportGraph) -> str:
    """The package-level graph in Graphviz's language, one row per layer (cli at the top), upward imports red."""
    nodes: dict[str, str] = {}
    links: dict[tuple[str, str], bool] = {}
    for importer, imported_set in _edges(graph).items():
        for imported in imported_set:
            a, b = group(importer), group(imported)
            nodes[a], nodes[b] = layer(importer), layer(imported)
            if a != b:
                up = LAYERS.index(layer(importer)) < LAYERS.index(layer(imported))
                links[(a, b)] = links.get((a, b), False) or up
    out = ["digraph milsetctl {", '  rankdir=TB; newrank=true; node [shape=box, style="rounded,filled", '
           'fontname="Helvetica", fillcolor="#eef3fb"]; edge [color="#8899aa", arrowsize=0.6];']
    for name in reversed(LAYERS):
        members = sorted(n for n, lay in nodes.items() if lay == name)
        out.append(f'  subgraph cluster_{name} {{ label="{name}"; style=dashed; color="#bbbbbb"; rank=same;')
        out.extend(f'    "{n}";' for n in members)
        out.append("  }")
    for (a, b), up in sorted(links.items()):
        style = ' [color=red, constraint=false, label="upward"]' if up else (
            ' [color="#d5dbe3"]' if nodes[a] == "cli" else "")  # cli imports nearly everything: drawn faint
        out.append(f'  "{a}" -> "{b}"{style};')
    out.append("}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(dot(grimp.build_graph(PACKAGE, cache_dir=None)))
