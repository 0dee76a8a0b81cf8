"""The layers hold at run time: importing a layer loads none of the modules it must not depend on.

Each layer's modules are imported in a fresh interpreter (this one has loaded everything already),
and every module that appears is checked against the layer's forbidden list. A meta-path hook in
that interpreter records which module imported which, so a failure names the chain that loaded
the forbidden module from the nearest module of the layer, e.g. `companion.rules.values ->
companion.settings.catalogue -> companion.settings.storage`.

Services also hold no SQL: every statement, and every call that runs one, is in companion/store/.
Each check is shown to catch a planted violation (the `planted` tests).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Final

import pytest

REPO: Final = Path(__file__).resolve().parents[1]


def _tree(name: str, why: str) -> dict[str, str]:
    """`name` and everything under it."""
    return {name: why, f"{name}.*": why}


# Pure layers decide; they never talk to the network, a database, the keyring or a file. The stdlib
# modules are listed with their C halves: a module could load `_sqlite3` without `sqlite3`.
_NO_IO: dict[str, str] = {
    **_tree("aiohttp", "the HTTP stack"),
    **_tree("aiosqlite", "the database"),
    **_tree("sqlite3", "the database"),
    "_sqlite3": "the database",
    **_tree("ctypes", "native calls"),
    "_ctypes": "native calls",
    **_tree("keyring", "the keyring"),
    **_tree("platformdirs", "file locations"),
    # Ours that do I/O: files, locations, the keyring, CATS, SQLite, and every layer above.
    "companion.files": "file writes",
    "companion.paths": "file locations",
    "companion.keystore": "the keyring",
    "companion.cats.client": "the HTTP stack",
    "companion.settings.storage": "the user's settings file",
    "companion.settings.policy": "the team policy file",
    "companion.settings.catalogue_store": "the catalogue's cache file",
    "companion.settings.service": "the settings files",
    **_tree("companion.store", "the database"),
    **_tree("companion.services", "a layer above"),
    **_tree("companion.server", "a layer above"),
    **_tree("companion.cli", "a layer above"),
}


@dataclass(frozen=True)
class Layer:
    package: str
    forbidden: dict[str, str]  # fnmatch pattern of a module name -> why it is forbidden
    exempt: frozenset[str] = field(default_factory=frozenset)  # modules of the layer not imported

    def modules(self) -> list[str]:
        """Every module of the package, found on disk (importing would hide what is never imported)."""
        root = REPO.joinpath(*self.package.split("."))
        if root.with_suffix(".py").is_file():  # a layer of one module (the composition root)
            return [self.package]
        names = []
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        return [name for name in names if name not in self.exempt]


LAYERS = {
    "rules": Layer("companion.rules", _NO_IO),
    "matching": Layer("companion.matching", _NO_IO),
    "services": Layer(
        "companion.services",
        {
            **_tree("aiohttp.web", "the HTTP server; routes belong in companion.server"),
            "aiohttp.web_*": "the HTTP server; routes belong in companion.server",
            **_tree("companion.server", "a layer above"),
            **_tree("companion.cli", "a layer above"),
        },
    ),
    # Team mode on PostgreSQL is a layer like services: the transports and the commands sit above it.
    "team": Layer(
        "companion.team",
        {
            **_tree("aiohttp.web", "the HTTP server; routes belong in companion.server"),
            "aiohttp.web_*": "the HTTP server; routes belong in companion.server",
            **_tree("companion.server", "a layer above"),
            **_tree("companion.cli", "a layer above"),
        },
    ),
    # The CATS client knows nothing of teams: its budget consults a TeamBudgetView it is handed.
    "cats": Layer(
        "companion.cats",
        {
            **_tree(
                "companion.team", "team mode; the budget takes a TeamBudgetView from the composition root"
            ),
            **_tree("asyncpg", "the team database"),
            **_tree("companion.services", "a layer above"),
            **_tree("companion.server", "a layer above"),
            **_tree("companion.cli", "a layer above"),
        },
    ),
    # The composition root builds the services; the transports (server/) receive what it built.
    "app": Layer(
        "companion.app",
        {
            **_tree("aiohttp.web", "the HTTP server; the transports are companion.server's"),
            "aiohttp.web_*": "the HTTP server; the transports are companion.server's",
            **_tree("companion.server", "a layer above"),
            **_tree("companion.cli", "a layer above"),
        },
    ),
    # The CATS double stands alone: it shares no code with the client it is a double for.
    "sandbox": Layer(
        "companion.sandbox",
        {
            **_tree("companion.cats", "the product's CATS client: the double must not share its code"),
            **_tree("companion.services", "the product"),
            **_tree("companion.server", "the product"),
            **_tree("companion.store", "the product"),
            **_tree("companion.cli", "a layer above"),
        },
    ),
}

# Runs in the fresh interpreter: argv[1:] are the modules to import. Prints what was loaded, who
# imported each module first, and where each imported module's file is.
_PROBE = r"""
import importlib, json, sys

SKIP = {"importlib", "importlib._bootstrap", "importlib._bootstrap_external"}
importer = {}

class Recorder:
    # Never finds anything: it only notes the module whose code asked for `name`.
    def find_spec(self, name, path=None, target=None):
        if name not in importer:
            frame = sys._getframe(1)
            while frame is not None and frame.f_globals.get("__name__") in SKIP:
                frame = frame.f_back
            importer[name] = frame.f_globals.get("__name__") if frame is not None else None
        return None

before = set(sys.modules)
sys.meta_path.insert(0, Recorder())
files = {}
for name in sys.argv[1:]:
    files[name] = getattr(importlib.import_module(name), "__file__", None)
loaded = sorted(set(sys.modules) - before)
print(json.dumps({"loaded": loaded, "importer": importer, "files": files}))
"""


@dataclass(frozen=True)
class Probe:
    loaded: list[str]
    importer: dict[str, str | None]
    files: dict[str, str | None]

    def chain(self, module: str, roots: set[str]) -> list[str]:
        """Who imported `module`, who imported that, ... back to one of `roots` (or the top)."""
        chain = [module]
        while chain[-1] not in roots and len(chain) < 50:
            parent = self.importer.get(chain[-1])
            if parent is None or parent == "__main__" or parent in chain:
                break
            chain.append(parent)
        return chain[::-1]


def probe(modules: list[str], *, pythonpath: list[Path] | None = None) -> Probe:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *modules], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return Probe(report["loaded"], report["importer"], report["files"])


def violations(layer: str, modules: list[str], forbidden: dict[str, str], found: Probe) -> list[str]:
    """One line per way into forbidden code: the layer, the module, why, and the chain that loaded it.

    What a forbidden module loads in turn (sqlite3 -> _sqlite3) is not reported again.
    """

    def why(name: str | None) -> str | None:
        return next((why for pattern, why in forbidden.items() if fnmatchcase(name or "", pattern)), None)

    lines = []
    for name in found.loaded:
        reason = why(name)
        if reason is not None and why(found.importer.get(name)) is None:
            chain = " -> ".join(found.chain(name, set(modules)))
            lines.append(f"{layer} must not load {name} ({reason}); loaded by {chain}")
    return lines


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_importing_a_layer_loads_nothing_it_must_not_depend_on(name: str) -> None:
    layer = LAYERS[name]
    modules = layer.modules()
    assert modules, f"no modules found for {layer.package}"
    found = probe(modules)
    # The interpreter imported this checkout's modules, not an installed copy of another one.
    assert all(Path(str(path)).is_relative_to(REPO) for path in found.files.values()), found.files
    found_violations = violations(name, modules, layer.forbidden, found)
    assert not found_violations, "\n".join(found_violations)


def test_a_forbidden_module_is_reported_with_the_chain_that_loaded_it(tmp_path: Path) -> None:
    # A layer `planted` whose `pure` module reaches sqlite3 through a module outside the layer.
    (tmp_path / "planted").mkdir()
    (tmp_path / "planted" / "__init__.py").write_text("")
    (tmp_path / "planted" / "pure.py").write_text("import json\nimport elsewhere\n")
    (tmp_path / "elsewhere.py").write_text("import sqlite3\n")
    modules = ["planted", "planted.pure"]
    found = probe(modules, pythonpath=[tmp_path])
    assert violations("planted", modules, _NO_IO, found) == [
        "planted must not load sqlite3 (the database); loaded by planted.pure -> elsewhere -> sqlite3"
    ]


# A statement as the store writes them (upper-case keywords), at the start of a string or f-string.
_SQL: Final = re.compile(
    r"^\s*(SELECT|INSERT INTO|INSERT OR|UPDATE \w+ SET|DELETE FROM|REPLACE INTO|CREATE|DROP|ALTER|PRAGMA"
    r"|BEGIN|COMMIT|ROLLBACK|WITH \w+ AS)\b"
)
# The calls that run SQL on a Database or an aiosqlite / sqlite3 connection.
_RUNS_SQL: Final = frozenset(
    {"execute", "executemany", "executescript", "execute_fetchall", "fetchall", "fetchone"}
)


def sql_in(path: Path, root: Path) -> list[str]:
    """Where the module at `path` writes SQL or runs it itself, as `file:line what`, sorted."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.match(node.value):
            found.append(f"{where} SQL {node.value[:40]!r}")
        runs = node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else ""
        if runs in _RUNS_SQL:
            found.append(f"{where} calls .{runs}()")
    return sorted(found)


def test_services_leave_every_query_to_the_store() -> None:
    # Services compose transactions (`async with db.transaction() as conn`) and hand the connection to
    # the repositories in companion/store/, which hold every statement.
    services = sorted((REPO / "companion" / "services").rglob("*.py"))
    assert len(services) > 1
    found = [hit for path in services for hit in sql_in(path, REPO)]
    assert not found, "\n".join(found)


def test_the_sql_check_sees_statements_and_the_calls_that_run_them(tmp_path: Path) -> None:
    (tmp_path / "planted.py").write_text(
        "async def names(db, ids):\n"
        '    """Delete nothing; select the names (prose is not SQL)."""\n'
        '    marks = ",".join("?" * len(ids))\n'
        '    return await db.fetchall(f"SELECT id FROM people WHERE id IN ({marks})", ids)\n'
    )
    assert sql_in(tmp_path / "planted.py", tmp_path) == [
        "planted.py:4 SQL 'SELECT id FROM people WHERE id IN ('",
        "planted.py:4 calls .fetchall()",
    ]
