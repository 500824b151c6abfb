"""The faults setting: a fraction of calls fail as PVE's do, and a failed call changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.lab.faults import Faults, save
from partilha.lab.instance import LabInstance
from partilha.lab.state.db import Store


@pytest.fixture
def faults(lab: LabInstance) -> Iterator[Store]:
    store = Store(lab.db)
    try:
        yield store
    finally:
        save(store, Faults())
        store.close()


def test_every_call_fails_at_rate_one_and_nothing_changes(
        faults: Store, admin: ProxmoxAPI, lab: LabInstance, creds: dict[str, Any]) -> None:
    save(faults, Faults(1.0, seed=7))
    for _ in range(6):
        with pytest.raises(ResourceException) as err:
            admin.pools.post(poolid="never")
        assert err.value.status_code == 500
        assert ("got timeout" in str(err.value)) or ("lab fault injection" in str(err.value))
    # logins are not failed
    ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"], password=creds["password"],
               verify_ssl=str(lab.cert))
    save(faults, Faults())
    assert "never" not in {p["poolid"] for p in admin.pools.get()}


def test_a_fraction_of_calls_fail(faults: Store, admin: ProxmoxAPI) -> None:
    save(faults, Faults(0.3, seed=11))
    failures = 0
    for _ in range(100):
        try:
            admin.version.get()
        except ResourceException:
            failures += 1
    assert 15 <= failures <= 45  # seeded: the same count on every run


def test_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        Faults(1.5)
