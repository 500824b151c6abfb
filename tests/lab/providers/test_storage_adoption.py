"""A storage PVE already defines is adopted, not defined again, and left defined by destroy; one
that differs in what PVE fixes at creation is refused with the difference named."""

from __future__ import annotations

import pytest
from proxmoxer import ProxmoxAPI
from pulumi import automation as auto

from partilha.proxmox.resources.storage import Storage

from .conftest import LabStack


def test_an_existing_storage_is_adopted_and_outlives_the_stack(stack: LabStack,
                                                               admin_token: ProxmoxAPI) -> None:
    admin_token.storage.post(storage="tad1", type="dir", path="/srv/partilha-test/tad1", content="backup")
    declared = {"storage": "tad1", "type": "dir", "path": "/srv/partilha-test/tad1"}

    assert stack.up(lambda: Storage("st", **declared, content=["backup", "images"])) == {"create": 1}
    assert stack.writes() == ["PUT /storage/tad1"]  # taken over as declared, never POSTed
    assert admin_token.storage("tad1").get()["content"] == "backup,images"
    assert stack.up() == {"same": 1}

    stack.destroy()
    assert admin_token.storage("tad1").get()["content"] == "backup,images"  # still defined

    with pytest.raises(auto.CommandError, match="storage tad1 exists with path '/srv/partilha-test/tad1', "
                                                "not the declared '/srv/elsewhere'"):
        stack.up(lambda: Storage("st", **{**declared, "path": "/srv/elsewhere"}, content=["backup"]))
    admin_token.storage("tad1").delete()
