"""The report's fleet file: every bad one is one clear line (FleetError)."""

from pathlib import Path

import pytest

from entrypoints.fleet import FleetError, parse_fleet, read_fleet
from entrypoints.report import main

GOOD = {
    "name": "acme",
    "eoy_month": 6,
    "key_vault": "https://kv-acme.vault.azure.net",
    "client_id": "app",
    "client_secret": "gAAAAAtoken",
}


def fleet(*tables):
    return {"client": [dict(table) for table in tables]}


def test_a_good_fleet_keeps_file_order_and_hides_the_token():
    clients = parse_fleet(
        fleet(GOOD, {**GOOD, "name": "beta", "key_vault": "file:///etc/lts/beta.toml"})
    )
    assert [c.name for c in clients] == ["acme", "beta"]
    assert clients[0].eoy_month == 6
    assert clients[0].store.scheme == "https"
    assert clients[1].store.scheme == "file"
    assert "gAAAAAtoken" not in repr(clients[0])


def test_tenant_and_authority_may_be_given_per_client():
    (client,) = parse_fleet(
        fleet({**GOOD, "tenant_id": "t1", "authority_host": "https://login.example"})
    )
    assert (client.store.tenant_id, client.store.authority_host) == ("t1", "https://login.example")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "no [[client]] table"),
        ({"client": []}, "no [[client]] table"),
        ({"clients": [GOOD]}, "unknown top-level key 'clients'"),
        (fleet({**GOOD, "secret": "x"}), "client 1 (acme): unknown key 'secret'"),
        (fleet({k: v for k, v in GOOD.items() if k != "client_id"}), "missing client_id"),
        (
            fleet({k: v for k, v in GOOD.items() if k not in ("name", "eoy_month")}),
            "missing name, eoy_month",
        ),
        (fleet(GOOD, GOOD), "client 2: the name 'acme' appears twice"),
        (fleet({**GOOD, "eoy_month": 13}), "EOY_MONTH must be a month number 1..12"),
        (fleet({**GOOD, "eoy_month": "6"}), "eoy_month must be a month number 1..12, not '6'"),
        (fleet({**GOOD, "eoy_month": True}), "eoy_month must be a month number"),
        (fleet({**GOOD, "name": "Acme!"}), "CLIENT_NAME 'Acme!' must match"),
        (fleet({**GOOD, "key_vault": "ftp://x"}), "is not a config source"),
        (fleet({**GOOD, "client_id": "-"}), "needs client_id and client_secret"),
        (fleet({**GOOD, "client_secret": 5}), "client_secret must be a string"),
        (fleet({**GOOD, "authority_host": "http://x"}), "authority_host must be an https:// URL"),
        ({"client": ["x"]}, "client 1 is not a table"),
    ],
)
def test_a_bad_fleet_is_one_line_naming_the_client(document, message):
    with pytest.raises(FleetError) as raised:
        parse_fleet(document)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_unreadable_or_invalid_file_is_one_line(tmp_path: Path):
    with pytest.raises(FleetError, match="cannot be read"):
        read_fleet(tmp_path / "absent.toml")
    bad = tmp_path / "fleet.toml"
    bad.write_text("[[client]\nname = 1\n")
    with pytest.raises(FleetError, match="is not valid TOML"):
        read_fleet(bad)


def test_the_entry_point_turns_a_bad_fleet_into_exit_two(tmp_path, capsys):
    bad = tmp_path / "fleet.toml"
    bad.write_text('[[client]]\nname = "acme"\n')
    with pytest.raises(SystemExit) as exited:
        main([str(bad), "--output", str(tmp_path / "out")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "report: error: FLEET_FILE: client 1 (acme): missing eoy_month, key_vault, client_id, "
        "client_secret\n"
    )


def test_the_output_option_is_required(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main([str(tmp_path / "fleet.toml")])
    assert exited.value.code == 2
    assert "--output" in capsys.readouterr().err
