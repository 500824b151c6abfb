"""PVE's formats the lab speaks: container config text and digest, net[n] and rootfs property
strings, SDN section configs and their pending view (pure functions, no lab needed)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partilha.lab.guests import lxc_config
from partilha.lab.sdn import sdn_schema
from partilha.lab.sdn.sdn_schema import SdnConfigError


def test_net_is_printed_as_pve_writes_it() -> None:
    net = lxc_config.parse_net("bridge=vabt,name=eth0,ip=10.1.0.5/24,gw=10.1.0.1,firewall=yes")
    assert net["firewall"] == "1"
    printed = lxc_config.print_net({**net, "hwaddr": "BC:24:11:00:00:01", "type": "veth"})
    assert printed == ("name=eth0,bridge=vabt,firewall=1,gw=10.1.0.1,hwaddr=BC:24:11:00:00:01,"
                       "ip=10.1.0.5/24,type=veth")
    assert lxc_config.parse_net(printed)["hwaddr"] == "BC:24:11:00:00:01"


@pytest.mark.parametrize(("value", "message"), [
    ("name=eth0,colour=red", "invalid key in comma-separated list property: colour"),
    ("eth0", "value without key, but schema does not define a default key"),
    ("name=eth0,name=eth1", "duplicate key in comma-separated list property: name"),
    ("bridge=vabt", "format error\nname: property is missing and it is not optional\n"),
    ("name=eth0,tag=5000", "format error\ntag: value must have a maximum value of 4094\n"),
    ("name=eth0,ip=10.1.0.5", "format error\nip: invalid format - value does not look like a valid IPv4 "
                              "network configuration\n\n"),
])
def test_bad_net_values_fail_with_pves_words(value: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        lxc_config.parse_net(value)
    assert str(err.value) == message


def test_config_text_and_digest() -> None:
    conf = {"hostname": "ct1", "memory": 512, "lock": "create", "digest": "ignored",
            "description": "Câmara: portal\nsegunda linha\n"}
    text = lxc_config.config_text(conf)
    assert text == ("#C%C3%A2mara%3A portal\n#segunda linha\nhostname: ct1\nlock: create\n"
                    "memory: 512\n")
    assert lxc_config.digest(conf) == hashlib.sha1(text.encode()).hexdigest()  # noqa: S324
    assert lxc_config.digest({**conf, "memory": 256}) != lxc_config.digest(conf)


def test_a_new_root_disk_is_a_dir_storage_volume() -> None:
    assert lxc_config.new_rootfs("lab-guests:8", "local", 100) == (
        "lab-guests", "lab-guests:100/vm-100-disk-0.raw,size=8G")
    assert lxc_config.new_rootfs("0.5", "local", 101) == ("local", "local:101/vm-101-disk-0.raw,size=512M")
    assert lxc_config.new_rootfs("local:100/vm-100-disk-0.raw,size=8G", "local", 100) is None


@given(st.integers(min_value=1, max_value=2**45))
def test_format_size_and_parse_size_agree(size: int) -> None:
    assert lxc_config.parse_size(lxc_config.format_size(size)) == size


def test_sdn_ids_and_section_checks() -> None:
    assert sdn_schema.subnet_id("cim", "10.101.0.0/24") == "cim-10.101.0.0-24"
    assert sdn_schema.subnet_fields("cim-10.101.0.0-24")["cidr"] == "10.101.0.0/24"
    for bad, message in (("v_1", "zone ID 'v_1' contains illegal characters"),
                         ("abcdefghi", "zone ID 'abcdefghi' can't be more length than 8 characters")):
        with pytest.raises(ValueError, match=message):
            sdn_schema.parse_zone_id(bad)
    with pytest.raises(SdnConfigError, match="missing value for required option 'bridge'"):
        sdn_schema.check_config(sdn_schema.ZONE_OPTIONS["vlan"], {}, create=True)
    with pytest.raises(SdnConfigError, match="unexpected property 'bridge'"):
        sdn_schema.check_config(sdn_schema.ZONE_OPTIONS["simple"], {"bridge": "vmbr0"}, create=True)
    data = {"type": "vnet", "zone": "cim", "alias": "x"}
    with pytest.raises(SdnConfigError, match="unable to delete required option 'zone'"):
        sdn_schema.delete_from_config(data, sdn_schema.VNET_OPTIONS, {}, ["zone"])
    sdn_schema.delete_from_config(data, sdn_schema.VNET_OPTIONS, {}, ["alias"])
    assert data == {"type": "vnet", "zone": "cim"}


def test_section_text_puts_required_options_first() -> None:
    vnet = {"type": "vnet", "alias": "A", "tag": 101, "zone": "cim"}
    text = sdn_schema.section_text("vnets", {"vabt": vnet})
    assert text == "vnet: vabt\n\tzone cim\n\talias A\n\ttag 101\n\n"


def test_pending_view_marks_new_changed_and_deleted() -> None:
    running = {"same": {"type": "vnet", "zone": "cim"},
               "edited": {"type": "vnet", "zone": "cim", "alias": "old", "tag": 5},
               "gone": {"type": "vnet", "zone": "cim"}}
    config = {"same": {"type": "vnet", "zone": "cim"},
              "edited": {"type": "vnet", "zone": "cim", "alias": "new"},
              "fresh": {"type": "vnet", "zone": "cim", "tag": 7}}
    view = sdn_schema.pending_config(running, config)
    assert view["same"] == {"type": "vnet", "zone": "cim"}
    assert view["edited"] == {"type": "vnet", "zone": "cim", "alias": "old", "tag": 5, "state": "changed",
                              "pending": {"alias": "new", "tag": "deleted"}}
    assert view["gone"] == {"type": "vnet", "zone": "cim", "state": "deleted", "pending": {}}
    assert view["fresh"] == {"type": "vnet", "state": "new", "pending": {"zone": "cim", "tag": 7}}
