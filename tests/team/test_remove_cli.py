"""`cats-companion team members` and `team remove-member`, run in-process against the real PostgreSQL
cluster as each person's own companion (tests/team/test_cli.py's world: no password ever shows)."""

from __future__ import annotations

import json

from tests.team.conftest import MEMBER_PASSWORD, TeamDb
from tests.team.test_cli import (  # noqa: F401 (world: the fixture)
    CATS_URL,
    Person,
    World,
    add_member,
    init_team,
    status,
    world,
)


def a_team(people: World, team_db: TeamDb, *stems: str) -> tuple[Person, list[str]]:
    """The admin's companion with the team made, and the members added (named after `stems`)."""
    admin = init_team(people, team_db)
    return admin, [add_member(people, team_db, admin, stem) for stem in stems]


def join(people: World, team_db: TeamDb, role: str) -> None:
    people.person()
    joined = people(
        ["team", "join", team_db.dsn(role).url, "--cats-url", CATS_URL], stdin=MEMBER_PASSWORD + "\n"
    )
    assert joined.code == 0, joined.err


def test_team_members_lists_admins_and_members_readable_and_as_json(
    world: World,  # noqa: F811
    team_db: TeamDb,
) -> None:
    _, (alice, bob) = a_team(world, team_db, "alice", "bob")
    join(world, team_db, alice)

    # A member lists them too.
    listed = world(["team", "members", "--json"])

    assert listed.code == 0, listed.err
    found = json.loads(listed.out)
    rows = [(m["role_name"], m["display_name"], m["access"], m["can_login"]) for m in found["members"]]
    assert rows == [
        (team_db.admin, "", "admin", True),
        (alice, "Alice", "member", True),
        (bob, "Bob", "member", True),
    ]
    assert all(m["added_at"] and m["removed_at"] is None for m in found["members"])
    text = world(["team", "members"])
    assert text.code == 0 and f"team {found['team_id']}: 3 member(s)" in text.out
    lines = text.out.splitlines()
    assert lines[1].split() == ["ROLE", "NAME", "ACCESS", "ADDED", "LOGIN"]
    assert lines[3].split()[:3] == [alice, "Alice", "member"] and lines[3].endswith("yes")


def test_the_admin_removes_a_member_who_is_then_told_so(
    world: World,  # noqa: F811
    team_db: TeamDb,
) -> None:
    admin, (alice,) = a_team(world, team_db, "alice")
    join(world, team_db, alice)
    member = world.people[-1]

    world.be(admin)
    removed = world(["team", "remove-member", alice])

    assert removed.code == 0, removed.err
    assert f"Removed {alice} (Alice) from team" in removed.out and "open sessions ended: 0" in removed.out
    listed = json.loads(world(["team", "members", "--json"]).out)["members"]
    assert [(m["role_name"], m["can_login"], m["removed_by"]) for m in listed][1] == (
        alice,
        False,
        team_db.admin,
    )
    assert "no" in world(["team", "members"]).out.splitlines()[-1].split()[-1]
    # Alice's companion says what happened, not that the password is wrong.
    world.be(member)
    code, report = status(world)
    assert code == 1 and report["removed"] is True
    assert report["database"]["error"]["code"] == "team.removed"  # type: ignore[index]
    text = world(["team", "status"])
    assert "removed:   yes -- the team's admin removed you" in text.out
    # And she can no longer list the team or remove anyone.
    assert world(["team", "members"]).code == 1


def test_removal_refusals_say_why_and_change_nothing(
    world: World,  # noqa: F811
    team_db: TeamDb,
) -> None:
    _, (alice, bob) = a_team(world, team_db, "alice", "bob")

    yourself = world(["team", "remove-member", team_db.admin])
    unknown = world(["team", "remove-member", "nobody_here"])
    join(world, team_db, alice)
    as_member = world(["team", "remove-member", bob])

    assert (yourself.code, unknown.code, as_member.code) == (1, 1, 1)
    assert "is you" in yourself.err and "not a member of the team" in unknown.err
    assert "only the team's admins remove members" in as_member.err
    listed = json.loads(world(["team", "members", "--json"]).out)["members"]
    assert all(m["can_login"] and m["removed_at"] is None for m in listed)
