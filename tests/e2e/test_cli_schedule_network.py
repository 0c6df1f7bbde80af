"""add-task and update-schedule with --at/--weekday (the machine's zone) and --proxy/--user-agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from osint_desktop.core.timeutil import parse_iso
from tests.e2e.conftest import Cli, CliResult, cli_env
from tests.feedserver import FeedServer
from tests.helpers import WORLD
from tests.proxyserver import HttpProxy

BERLIN = "Europe/Berlin"


@pytest.fixture
def berlin(cli: Cli, cli_home: Path) -> Cli:
    """The command line of a user whose machine is in Berlin (TZ)."""

    def run(*args: str) -> CliResult:
        return cli(*args, env=cli_env(cli_home, TZ=BERLIN))

    return run


def add(cli: Cli, *extra: str, frequency: str = "daily", name: str = "Feeds") -> CliResult:
    return cli("add-task", "--name", name, "--source", "news", "--frequency", frequency,
               "--target", "https://feeds.example.org/world.xml", *extra)


def the_task(cli: Cli, task_id: int) -> dict[str, Any]:
    listed = cli("list-tasks")
    assert listed.code == 0, listed.stderr
    [task] = [t for t in listed.json["tasks"] if t["id"] == task_id]
    return task


def local_next_run(task: dict[str, Any]) -> tuple[int, int, int]:
    moment = parse_iso(task["next_run"]).astimezone(ZoneInfo(BERLIN))
    return moment.weekday(), moment.hour, moment.minute


def test_add_task_at_a_time_of_day_in_the_machine_zone(berlin: Cli) -> None:
    result = add(berlin, "--at", "09:00")
    assert result.code == 0, result.stderr
    task = result.json["task"]
    assert (task["at"], task["weekday"], task["timezone"]) == ("09:00", None, BERLIN)
    # Stored in UTC, meant in Berlin: the next run is 09:00 there, whatever the offset today.
    assert local_next_run(task)[1:] == (9, 0)
    assert task["next_run"].endswith("Z")


def test_update_schedule_to_a_weekday_and_back(berlin: Cli) -> None:
    task_id = add(berlin).json["task_id"]
    result = berlin(
        "update-schedule", str(task_id), "--frequency", "weekly", "--at", "18:30", "--weekday", "fri"
    )
    assert result.code == 0, result.stderr
    listed = the_task(berlin, task_id)
    assert (listed["at"], listed["weekday"], listed["timezone"]) == ("18:30", "fri", BERLIN)
    assert local_next_run(listed) == (4, 18, 30)
    cleared = berlin("update-schedule", str(task_id), "--at", "none")
    assert cleared.code == 0, cleared.stderr
    assert (cleared.json["task"]["at"], cleared.json["task"]["weekday"]) == (None, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "25:00"], "25:00 is not a time of day (HH:MM, 00:00-23:59)"),
        (["--at", "09:00", "--weekday", "mon"], "--weekday is only for weekly tasks"),
        (["--at", "09:00", "--weekday", "someday"], "'someday' is not a weekday"),
        (["--proxy", "ftp://127.0.0.1:21"], "is not a proxy URL: use http://, https://, socks5:// or socks5h://"),
        (["--proxy", "http://127.0.0.1"], "has no port"),
        (["--user-agent", "two\nlines"], "one line of printable ASCII"),
    ],
    ids=["hour-25", "weekday-daily", "no-such-day", "ftp-proxy", "no-port", "agent-lines"],
)
def test_refusals_name_the_problem(cli: Cli, args: list[str], message: str) -> None:
    result = add(cli, *args)
    assert result.code == 2
    assert message in result.stderr


def test_hourly_tasks_refuse_a_time_of_day(cli: Cli) -> None:
    refused = add(cli, "--at", "09:00", frequency="hourly")
    assert refused.code == 2 and "--at is only for daily and weekly tasks" in refused.stderr
    task_id = add(cli, frequency="hourly").json["task_id"]
    # The stored frequency is checked once the database is open: the same message.
    later = cli("update-schedule", str(task_id), "--at", "09:00")
    assert later.code == 2 and "--at is only for daily and weekly tasks" in later.stderr
    assert the_task(cli, task_id)["at"] is None


def test_a_task_proxy_and_user_agent_carry_its_runs(cli: Cli, cli_home: Path) -> None:
    with FeedServer() as server, HttpProxy() as proxy:
        server.add_file("/world.xml", WORLD)
        feed = server.url("/world.xml")
        added = cli("add-task", "--name", "Proxied", "--source", "news", "--frequency", "hourly",
                    "--target", feed, "--proxy", proxy.url, "--user-agent", "Analyst/2.0")
        assert added.code == 0, added.stderr
        task = added.json["task"]
        assert (task["proxy_url"], task["user_agent"]) == (proxy.url, "Analyst/2.0")
        ran = cli("run-task", str(task["id"]))
        assert ran.code == 0, ran.stdout
        assert [request.url for request in proxy.requests] == [feed]
        assert [request.headers["user-agent"] for request in server.requests] == ["Analyst/2.0"]
        # No proxy for this task: straight to the server, still with its User-Agent.
        assert cli("update-schedule", str(task["id"]), "--proxy", "none").code == 0
        assert cli("run-task", str(task["id"])).code == 0
        assert len(proxy.requests) == 1 and len(server.requests) == 2
        back = cli("update-schedule", str(task["id"]), "--proxy", "default", "--user-agent", "default")
        assert (back.json["task"]["proxy_url"], back.json["task"]["user_agent"]) == (None, None)
