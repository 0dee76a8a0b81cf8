"""`cats-companion team ...` run in-process against the real PostgreSQL cluster, stdin replaced.

Each person (the admin, a member) is a companion of their own: their own home (team record) and
their own in-memory keyring. Every run checks that no password reaches stdout, stderr or the logs,
and the tests scan every file the companions wrote.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion import cli, paths
from companion.cats_url import remember_url, url_file
from companion.keystore import KeyringKeyStore
from companion.secret import DatabasePassword
from companion.team import local
from companion.team.credentials import SERVICE_NAME, TeamPasswordStore
from companion.team.dsn import parse_dsn
from companion.team.migrations import latest_version
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.keyring import MemoryKeyring, install_keyring
from tests.fixtures.sandbox import SandboxFactory
from tests.team.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, TeamDb

CATS_URL = "https://api.catsone.com/v3"
WRONG_PASSWORD = "not-the-pa55word-e1f0"
SECRETS = (ADMIN_PASSWORD, MEMBER_PASSWORD, WRONG_PASSWORD)
#: The schema version this companion knows (every migration it ships applied).


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass
class Person:
    """One recruiter's companion: a home for its files and a keyring of its own."""

    home: Path
    keyring: MemoryKeyring

    def record(self) -> local.TeamRecord | None:
        return local.load(self.home / "config" / local.TEAM_FILE)


class World:
    """Runs `cats-companion` as one person or another; never lets a password show."""

    def __init__(
        self,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        self._capsys, self._caplog, self._monkeypatch, self._tmp = capsys, caplog, monkeypatch, tmp_path
        self.people: list[Person] = []
        caplog.set_level(logging.DEBUG)

    def person(self) -> Person:
        found = Person(self._tmp / f"person{len(self.people)}", MemoryKeyring())
        self.people.append(found)
        return self.be(found)

    def be(self, person: Person) -> Person:
        self._monkeypatch.setenv("CATS_COMPANION_HOME", str(person.home))
        install_keyring(self._monkeypatch, person.keyring, explicit=True)
        return person

    def __call__(self, argv: Sequence[str], stdin: str = "") -> Result:
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return self._collect(code)

    async def run_async(self, argv: Sequence[str], stdin: str = "") -> Result:
        """For tests whose CATS sandbox runs on this test's event loop: the CLI runs its own loop."""
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = await asyncio.to_thread(cli.main, list(argv))
        return self._collect(code)

    def _collect(self, code: int) -> Result:
        out, err = self._capsys.readouterr()
        for secret in SECRETS:
            assert secret not in out, "a password was printed on stdout"
            assert secret not in err, "a password was printed on stderr"
            assert secret not in self._caplog.text, "a password was logged"
        return Result(code, out, err)

    def files_holding_a_password(self) -> list[Path]:
        found = []
        for person in self.people:
            for path in person.home.rglob("*"):
                text = path.read_text(errors="replace") if path.is_file() else ""
                found += [path for secret in SECRETS if secret in text]
        return found


@pytest.fixture
def world(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> World:
    return World(capsys, caplog, monkeypatch, tmp_path)


def init_team(world: World, team_db: TeamDb, *, cats_url: str = CATS_URL) -> Person:
    admin = world.person()
    done = world(["team", "init", team_db.dsn().url, "--cats-url", cats_url], stdin=ADMIN_PASSWORD + "\n")
    assert done.code == 0, done.err
    return admin


def add_member(world: World, team_db: TeamDb, admin: Person, stem: str = "alice") -> str:
    world.be(admin)
    name = team_db.server.unique(stem)
    done = world(["team", "add-member", name, "--name", stem.title()], stdin=MEMBER_PASSWORD + "\n")
    assert done.code == 0, done.err
    assert f"cats-companion team join {team_db.dsn(name).url}" in done.out
    return name


def status(world: World) -> tuple[int, dict[str, object]]:
    done = world(["team", "status", "--json"])
    return done.code, json.loads(done.out)


def test_the_world_catches_a_password_printed_logged_or_written(world: World) -> None:
    # Every test below relies on these checks to prove no password shows up; they must be able to fail.
    person = world.person()
    print(f"oops {MEMBER_PASSWORD}")
    with pytest.raises(AssertionError, match="printed on stdout"):
        world(["team", "status"])
    planted = person.home / "config" / "notes.txt"
    planted.parent.mkdir(parents=True)
    planted.write_text(f"password: {ADMIN_PASSWORD}")
    assert world.files_holding_a_password() == [planted]
    logging.getLogger("companion.test").warning("oops %s", WRONG_PASSWORD)
    with pytest.raises(AssertionError, match="logged"):
        world(["team", "status"])


# --- init, add-member, join: the way in ------------------------------------------------------------


def test_the_admin_creates_the_team_and_belongs_to_it(world: World, team_db: TeamDb) -> None:
    admin = init_team(world, team_db)

    record = admin.record()
    assert record is not None and record.access == "admin" and record.role == team_db.admin
    assert record.dsn == team_db.dsn().url and record.cats_base_url == CATS_URL
    assert admin.keyring.passwords == {(SERVICE_NAME, team_db.dsn().url): ADMIN_PASSWORD}
    team_file = admin.home / "config" / local.TEAM_FILE
    assert stat.S_IMODE(team_file.stat().st_mode) == 0o600
    again = world(["team", "init", team_db.dsn().url, "--cats-url", CATS_URL], stdin=ADMIN_PASSWORD + "\n")
    assert again.code == 0 and "Checked team" in again.out and "none (up to date)" in again.out
    assert world.files_holding_a_password() == []


def test_a_member_joins_with_the_password_the_admin_chose(world: World, team_db: TeamDb) -> None:
    admin = init_team(world, team_db)
    alice = add_member(world, team_db, admin)
    member = world.person()

    joined = world(
        ["team", "join", team_db.dsn(alice).url, "--cats-url", CATS_URL], stdin=MEMBER_PASSWORD + "\n"
    )

    assert joined.code == 0, joined.err
    assert (
        f"as {alice} (member)" in joined.out
        and "only the base URL was compared: this companion's site name is unknown (no CATS API key"
        in joined.out
    )
    record = member.record()
    assert record is not None and record.access == "member" and record.role == alice
    assert member.keyring.passwords == {(SERVICE_NAME, team_db.dsn(alice).url): MEMBER_PASSWORD}
    row = team_db.server.fetch(
        "SELECT display_name, joined_at IS NOT NULL AS joined FROM cats_companion.members"
        " WHERE role_name = $1",
        alice,
        database=team_db.database,
    )
    assert [tuple(r) for r in row] == [("Alice", True)]
    assert world.files_holding_a_password() == []


def test_without_cats_url_a_member_joins_for_the_cats_url_a_key_was_set_up_for(
    world: World, team_db: TeamDb
) -> None:
    site = "https://cats.example.org/v3"
    admin = init_team(world, team_db, cats_url=site)
    alice = add_member(world, team_db, admin)
    member = world.person()
    # What `key set --cats-url` keeps for daemons started later; no daemon runs here. Without it the
    # join would compare the default CATS URL with the team's and be refused.
    remember_url(site)

    joined = world(["team", "join", team_db.dsn(alice).url], stdin=MEMBER_PASSWORD + "\n")

    assert joined.code == 0, joined.err
    record = member.record()
    assert record is not None and record.cats_base_url == site


def test_a_damaged_cats_url_file_refuses_the_join_naming_it_and_records_nothing(
    world: World, team_db: TeamDb
) -> None:
    admin = init_team(world, team_db)
    alice = add_member(world, team_db, admin)
    member = world.person()
    url_file().parent.mkdir(parents=True, exist_ok=True)
    url_file().write_text("{")

    joined = world(["team", "join", team_db.dsn(alice).url], stdin=MEMBER_PASSWORD + "\n")

    assert joined.code != 0 and str(url_file()) in joined.err
    assert member.record() is None and member.keyring.passwords == {}


def test_a_wrong_password_is_refused_and_nothing_is_recorded(world: World, team_db: TeamDb) -> None:
    admin = init_team(world, team_db)
    alice = add_member(world, team_db, admin)
    member = world.person()

    refused = world(
        ["team", "join", team_db.dsn(alice).url, "--cats-url", CATS_URL], stdin=WRONG_PASSWORD + "\n"
    )

    assert refused.code == 1
    assert f"refused the password for '{alice}'" in refused.err
    assert member.record() is None and member.keyring.passwords == {}


def test_a_team_of_another_cats_url_is_refused_naming_both(world: World, team_db: TeamDb) -> None:
    admin = init_team(world, team_db)
    alice = add_member(world, team_db, admin)
    member = world.person()

    refused = world(
        ["team", "join", team_db.dsn(alice).url, "--cats-url", "https://cats.example.org/v3"],
        stdin=MEMBER_PASSWORD + "\n",
    )

    assert refused.code == 1
    assert (
        f"this team belongs to the CATS site {CATS_URL} (site name unknown), but this companion works with "
        "https://cats.example.org/v3 (site name unknown)"
    ) in refused.err
    assert member.record() is None and member.keyring.passwords == {}


async def test_a_team_of_another_cats_account_on_the_same_url_is_refused_naming_both(
    world: World, team_db: TeamDb, sandbox_factory: SandboxFactory
) -> None:
    sandbox = await sandbox_factory()
    sandbox.store.configure_site(subdomain="acme")
    world.person()
    KeyringKeyStore().set(sandbox.url, sandbox.key)
    created = await world.run_async(
        ["team", "init", team_db.dsn().url, "--cats-url", sandbox.url], stdin=ADMIN_PASSWORD + "\n"
    )
    assert created.code == 0, created.err
    assert "the same as this companion's, from CATS (GET /site)" in created.out
    alice = team_db.server.unique("alice")
    added = await world.run_async(["team", "add-member", alice], stdin=MEMBER_PASSWORD + "\n")
    assert added.code == 0, added.err
    # Alice's companion works with another account on the same CATS address.
    member = world.person()
    KeyringKeyStore().set(sandbox.url, sandbox.key)
    sandbox.store.configure_site(subdomain="globex")

    refused = await world.run_async(
        ["team", "join", team_db.dsn(alice).url, "--cats-url", sandbox.url], stdin=MEMBER_PASSWORD + "\n"
    )

    assert refused.code == 1
    assert (
        f"this team belongs to the CATS site acme at {sandbox.url}, but this companion works with "
        f"globex at {sandbox.url}"
    ) in refused.err
    assert member.record() is None
    assert (SERVICE_NAME, team_db.dsn(alice).url) not in member.keyring.passwords


async def test_the_running_daemon_names_the_cats_site_without_a_request_of_its_own(
    world: World, team_db: TeamDb, sandbox_factory: SandboxFactory, daemon_factory: DaemonFactory
) -> None:
    sandbox = await sandbox_factory()
    sandbox.store.configure_site(subdomain="acme")
    world.person()
    daemon = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url)
    assert daemon.companion.check_task is not None
    await daemon.companion.check_task
    before = (await sandbox.control.counters())["requests_total"]

    # No --cats-url and no CATS key in this keyring: the daemon's URL and site name.
    created = await world.run_async(["team", "init", team_db.dsn().url], stdin=ADMIN_PASSWORD + "\n")

    assert created.code == 0, created.err
    assert f"acme at {sandbox.url} (the same as this companion's, from the running daemon)" in created.out
    assert (await sandbox.control.counters())["requests_total"] == before


def test_a_role_outside_the_team_cannot_join(world: World, team_db: TeamDb) -> None:
    init_team(world, team_db)
    stranger = team_db.server.create_role(MEMBER_PASSWORD, stem="stranger")
    member = world.person()

    refused = world(
        ["team", "join", team_db.dsn(stranger).url, "--cats-url", CATS_URL], stdin=MEMBER_PASSWORD + "\n"
    )

    assert refused.code == 1 and f"{stranger!r} is not a member of the team" in refused.err
    assert member.record() is None and member.keyring.passwords == {}


def test_a_companion_already_in_a_team_must_leave_it_first(world: World, team_db: TeamDb) -> None:
    admin = init_team(world, team_db)
    other = team_db.server.create_database(owner=team_db.admin)

    refused = world(
        ["team", "join", team_db.dsn().url.replace(team_db.database, other)], stdin=ADMIN_PASSWORD + "\n"
    )

    assert refused.code == 1 and "run `cats-companion team leave` first" in refused.err
    record = admin.record()
    assert record is not None and record.dsn == team_db.dsn().url


def test_only_an_admin_adds_members(world: World, team_db: TeamDb) -> None:
    admin = init_team(world, team_db)
    alice = add_member(world, team_db, admin)
    world.person()
    assert (
        world(
            ["team", "join", team_db.dsn(alice).url, "--cats-url", CATS_URL], stdin=MEMBER_PASSWORD + "\n"
        ).code
        == 0
    )

    refused = world(["team", "add-member", "mallory_x"], stdin=MEMBER_PASSWORD + "\n")

    assert refused.code == 1 and "only the team's admins add members" in refused.err
    assert not team_db.server.fetch("SELECT 1 FROM pg_roles WHERE rolname = 'mallory_x'")


def test_an_admin_added_with_admin_joins_as_an_admin_and_adds_members_too(
    world: World, team_db: TeamDb
) -> None:
    admin = init_team(world, team_db)
    world.be(admin)
    carol = team_db.server.unique("carol")
    added = world(["team", "add-member", carol, "--name", "Carol", "--admin"], stdin=MEMBER_PASSWORD + "\n")
    assert added.code == 0, added.err
    assert f"Added {carol} to team" in added.out and "as an admin" in added.out
    second = world.person()

    joined = world(
        ["team", "join", team_db.dsn(carol).url, "--cats-url", CATS_URL], stdin=MEMBER_PASSWORD + "\n"
    )
    assert joined.code == 0, joined.err
    assert f"as {carol} (admin)" in joined.out
    record = second.record()
    assert record is not None and record.access == "admin"

    dave = add_member(world, team_db, second, stem="dave")
    listed = world(["team", "members", "--json"])
    assert listed.code == 0, listed.err
    access = {m["role_name"]: m["access"] for m in json.loads(listed.out)["members"]}
    assert (access[carol], access[dave]) == ("admin", "member")
    assert world.files_holding_a_password() == []


def test_a_new_members_password_too_short_is_refused_without_a_trace(world: World, team_db: TeamDb) -> None:
    init_team(world, team_db)
    name = team_db.server.unique("shorty")

    refused = world(["team", "add-member", name], stdin="short\n")

    assert refused.code == 1 and "shorter than 12 characters" in refused.err
    assert not team_db.server.fetch("SELECT 1 FROM pg_roles WHERE rolname = $1", name)


# --- passwords never on the command line -------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["team", "join", f"postgresql://alice:{MEMBER_PASSWORD}@db.example.com/team"],
        ["team", "init", f"postgresql://admin@db.example.com/team?password={ADMIN_PASSWORD}"],
        ["team", "join", "postgresql://alice@db.example.com/team", "--password", MEMBER_PASSWORD],
        ["team", "join", f"--password={MEMBER_PASSWORD}", "postgresql://alice@db.example.com/team"],
        ["team", "join", "postgresql://alice@db.example.com/team", MEMBER_PASSWORD],
        ["team", "add-member", "alice", "--password", MEMBER_PASSWORD],
    ],
)
def test_a_password_on_the_command_line_is_refused_without_echoing_it(world: World, argv: list[str]) -> None:
    person = world.person()

    refused = world(argv, stdin=MEMBER_PASSWORD + "\n")

    assert refused.code == 2
    assert person.record() is None and person.keyring.passwords == {}


def test_no_password_given_is_refused(world: World, team_db: TeamDb) -> None:
    person = world.person()
    refused = world(["team", "init", team_db.dsn().url], stdin="")
    assert refused.code == 2 and "no password was given" in refused.err
    assert person.record() is None


# --- status and leave ------------------------------------------------------------------------------


def test_status_outside_a_team_says_so(world: World) -> None:
    world.person()
    assert status(world) == (0, {"joined": False, "known_schema_version": latest_version()})
    plain = world(["team", "status"])
    assert plain.code == 0 and "belongs to no team" in plain.out


def test_status_of_a_member_reports_the_team_the_role_and_the_schema(world: World, team_db: TeamDb) -> None:
    admin = init_team(world, team_db)
    alice = add_member(world, team_db, admin)
    world.person()
    world(["team", "join", team_db.dsn(alice).url, "--cats-url", CATS_URL], stdin=MEMBER_PASSWORD + "\n")

    code, report = status(world)

    assert code == 0
    database = report.pop("database")
    assert isinstance(database, dict) and database["reachable"] is True
    assert (database["schema_version"], database["access"], database["error"]) == (
        latest_version(),
        "member",
        None,
    )
    assert report["role"] == alice and report["access"] == "member" and report["password_stored"] is True
    assert report["cats"] == {"base_url": CATS_URL, "subdomain": None}
    text = world(["team", "status"])
    assert (
        f"answers:   yes; schema version {latest_version()}" in text.out
        and f"you:       {alice} (member)" in text.out
    )


def test_status_says_when_the_database_refuses_the_stored_password(world: World, team_db: TeamDb) -> None:
    init_team(world, team_db)
    team_db.server.sql(f"ALTER ROLE \"{team_db.admin}\" PASSWORD '{WRONG_PASSWORD}'")

    code, report = status(world)

    database = report["database"]
    assert code == 1 and isinstance(database, dict) and database["reachable"] is False
    assert database["error"]["code"] == "team.auth_failed"


def test_status_says_when_the_database_does_not_answer(world: World) -> None:
    world.person()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    dsn = parse_dsn(f"postgresql://alice@127.0.0.1:{closed}/team")
    TeamPasswordStore().set(dsn, DatabasePassword(MEMBER_PASSWORD))
    local.save(
        local.TeamRecord(
            dsn=dsn.url,
            team_id="00000000-0000-0000-0000-000000000000",
            cats_base_url=CATS_URL,
            cats_subdomain=None,
            role="alice",
            access="member",
            joined_at=datetime.now(UTC),
        )
    )

    code, report = status(world)

    database = report["database"]
    assert code == 1 and isinstance(database, dict) and database["error"]["code"] == "team.unavailable"
    assert f"127.0.0.1:{closed}" in database["error"]["message"]


def test_leave_forgets_the_record_and_the_password(world: World, team_db: TeamDb) -> None:
    admin = init_team(world, team_db)

    left = world(["team", "leave"])

    assert left.code == 0 and "and its password from the keyring" in left.out
    assert admin.record() is None and admin.keyring.passwords == {}
    assert status(world) == (0, {"joined": False, "known_schema_version": latest_version()})
    again = world(["team", "leave"])
    assert again.code == 0 and "nothing to forget" in again.out
    # The team itself is untouched: the admin can come back.
    back = world(["team", "init", team_db.dsn().url, "--cats-url", CATS_URL], stdin=ADMIN_PASSWORD + "\n")
    assert back.code == 0 and "Checked team" in back.out


def test_leave_removes_a_damaged_record(world: World) -> None:
    person = world.person()
    broken = paths.config_dir() / local.TEAM_FILE
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")

    left = world(["team", "leave"])

    assert left.code == 0 and "Removed the damaged team record" in left.out
    assert person.record() is None
