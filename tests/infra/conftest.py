"""testinfra over the hosts partilha deploys to, one test per control, parametrised over hosts.

The hosts are the fleet `partilha deploy` wrote (`--fleet`, default
.partilha/deploy/<--env>/fleet.json), optionally narrowed with testinfra's own `--hosts`
(names, addresses or groups of the fleet). Without a fleet there is nothing to test, so plain
`pytest` (testpaths: tests/unit, tests/lab) never collects this folder, and
`pytest tests/infra` without a fleet stops with a usage error.

Connections: testinfra's ssh backend (OpenSSH) with the ssh_config partilha writes:
StrictHostKeyChecking yes against the fleet's known_hosts, BatchMode, the operator's key only —
never paramiko and its WarningPolicy. Guests are logged into as their admin with sudo once the
baseline made one, else as root (partilha.deploy.access).

Fixtures: `spec` (the host's model, partilha.deploy.hosts.Host), `host` (testinfra),
`container` (the host runs in a container), `fleet`. A test marked
`@pytest.mark.control("PTL-...")` is skipped as "not applicable: <reason>" where its catalogue
(deploys/*controls.py; for a control in none, the marker's `hosts=` / `roles=`) says so.
`--controls-json FILE` writes every outcome per (control, host), which `partilha verify` turns
into its Markdown report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import testinfra

from partilha.controls import Control
from partilha.deploy import access
from partilha.deploy.catalogue import all_controls
from partilha.deploy.fleet import FLEET_FILE, Fleet
from partilha.deploy.hosts import Host
from partilha.deploy.paths import workdir_for

NA = "not applicable: "


@dataclass
class Fleetwide:
    fleet: Fleet
    ssh_config: Path
    control_dir: Path
    logins: dict[str, access.Login]
    unreachable: dict[str, str]
    controls: dict[str, Control]  # control ID -> Control, over deploys/*controls.py
    outcomes: list[dict[str, str]] = field(default_factory=list)
    containers: dict[str, bool] = field(default_factory=dict)


STATE = pytest.StashKey[Fleetwide]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("partilha", "partilha infra tests")
    group.addoption("--fleet", help="fleet file written by `partilha deploy` "
                                    "(default .partilha/deploy/<env>/fleet.json)")
    group.addoption("--env", default="lab", help="environment whose fleet to test (default lab)")
    group.addoption("--controls-json", help="write each control's outcome per host to this file")


def _fleet_file(config: pytest.Config) -> Path:
    return Path(config.option.fleet or workdir_for(config.option.env) / FLEET_FILE)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "control(id, hosts='all', roles=()): the control the test "
                                       "proves; hosts/roles scope controls in no deploys/*controls.py")
    if config.option.connection not in (None, "ssh"):
        raise pytest.UsageError("tests/infra connects with OpenSSH and the fleet's pinned host keys; "
                                f"--connection={config.option.connection} is not supported")
    if not _fleet_file(config).is_file():
        raise pytest.UsageError(f"{_fleet_file(config)}: no fleet to test (run `partilha deploy` first, "
                                "or pass --fleet)")


def _fleetwide(config: pytest.Config) -> Fleetwide:
    if STATE in config.stash:
        return config.stash[STATE]
    fleet = Fleet.load(_fleet_file(config))
    if config.option.hosts:
        fleet = fleet.select([h for h in config.option.hosts.split(",") if h])
    control_dir = Path(tempfile.mkdtemp(prefix="ptl-ssh-"))  # short: socket paths are limited
    ssh_config = access.write_ssh_config(fleet, {}, control_dir / "ssh_config")
    logins, unreachable = access.resolve_logins(fleet, ssh_config, masters=control_dir)
    access.write_ssh_config(fleet, logins, ssh_config)
    config.stash[STATE] = state = Fleetwide(fleet, ssh_config, control_dir, logins, unreachable,
                                            all_controls())
    return state


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "spec" in metafunc.fixturenames:
        hosts = _fleetwide(metafunc.config).fleet.hosts
        metafunc.parametrize("spec", hosts, ids=[h.name for h in hosts], scope="module")


@pytest.fixture(scope="module")
def host(spec: Host, request: pytest.FixtureRequest) -> testinfra.host.Host:
    state = _fleetwide(request.config)
    if spec.name in state.unreachable:
        pytest.fail(f"refused: {state.unreachable[spec.name]}", pytrace=False)
    login = state.logins[spec.name]
    return testinfra.get_host(f"ssh://{spec.name}", ssh_config=str(state.ssh_config), sudo=login.sudo,
                              controlpath=str(state.control_dir / spec.name), timeout=30)


@pytest.fixture(scope="module")
def container(host: testinfra.host.Host, spec: Host, request: pytest.FixtureRequest) -> bool:
    cache = _fleetwide(request.config).containers
    if spec.name not in cache:
        out = host.run("systemd-detect-virt --container").stdout.strip()
        cache[spec.name] = out not in ("", "none")
    return cache[spec.name]


def _not_applicable(marker: pytest.Mark, spec: Host, request: pytest.FixtureRequest) -> str | None:
    control = _fleetwide(request.config).controls.get(marker.args[0])
    if control is None:  # a control in no catalogue of deploys/: its marker scopes it
        hosts, roles = marker.kwargs.get("hosts", "all"), tuple(marker.kwargs.get("roles", ()))
        if hosts != "all" and f"{spec.kind}s" != hosts:
            return f"{hosts} only"
        if roles and spec.role not in roles:
            return f"only for roles {', '.join(roles)}"
        return None
    in_container = bool(control.in_container) and request.getfixturevalue("container")
    return control.not_applicable(spec.kind, in_container)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _control_scope(request: pytest.FixtureRequest, spec: Host) -> None:
    marker = request.node.get_closest_marker("control")
    if marker is None:
        return
    request.getfixturevalue("host")  # an unreachable host fails here, not as n/a
    reason = _not_applicable(marker, spec, request)
    if reason:
        pytest.skip(NA + reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    marker = item.get_closest_marker("control")
    spec = getattr(item, "callspec", None) and item.callspec.params.get("spec")
    if marker is None or spec is None:
        return report
    if report.when == "call" or (report.when == "setup" and not report.passed):
        state = _fleetwide(item.config)
        outcome = "passed" if report.passed else "failed"
        message = ""
        if report.skipped:
            message = str(report.longrepr[2]).removeprefix("Skipped: ") if isinstance(
                report.longrepr, tuple) else str(report.longrepr)
            outcome = "na" if message.startswith(NA) else "skipped"
            message = message.removeprefix(NA)
        elif report.failed:
            message = _first_line(report.longreprtext)
        state.outcomes.append({"control": marker.args[0], "host": spec.name, "outcome": outcome,
                               "message": message, "test": item.nodeid})
    return report


def _first_line(text: str) -> str:
    """The assertion's own message (pytest's first `E ` line), else the last line."""
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    lines = errors or [line for line in text.splitlines() if line.strip()][-1:]
    return lines[0].removeprefix("AssertionError: ")[:500] if lines else "failed"


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    if session.config.option.controls_json:
        out = Path(session.config.option.controls_json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"env": state.fleet.env, "hosts": [h.name for h in state.fleet.hosts],
                                   "unreachable": state.unreachable, "outcomes": state.outcomes},
                                  indent=2) + "\n")
    _close_masters(state)


def _close_masters(state: Fleetwide) -> None:
    """End the OpenSSH control masters testinfra left running (ControlPersist)."""
    for name in state.logins:
        socket = state.control_dir / name
        if socket.exists():
            subprocess.run(["ssh", "-F", str(state.ssh_config), "-o", f"ControlPath={socket}", "-O", "exit",
                            name], capture_output=True, timeout=10, check=False)
    shutil.rmtree(state.control_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def fleet(request: pytest.FixtureRequest) -> Fleet:
    """The fleet under test (its known_hosts, operator key and every host's model)."""
    return _fleetwide(request.config).fleet
