"""Tests of the master config: defaults, TOML file, environment overrides, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import (
    DEFAULT_CONFIG_FILE,
    Settings,
    SettingsError,
    config_file,
    load_settings,
)


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"LTS_CONFIG": str(path)}


def test_built_in_defaults_apply_when_the_config_file_is_absent(tmp_path):
    settings = load_settings({"LTS_CONFIG": str(tmp_path / "missing.toml")})
    assert settings.paths.log_root == Path("/var/log/long-term-storage")
    assert settings.paths.mount_root == Path("/mnt/long-term-storage")
    assert settings.paths.lock_root == Path("/run/lock/long-term-storage")
    assert settings.paths.work_root == Path("/var/tmp/long-term-storage")
    assert settings.logging.level == "INFO"
    assert settings.logging.rotation == "daily"
    assert settings.logging.backup_count == 30
    assert settings.logging.json_lines is False
    assert settings.secrets.key_file == Path("/etc/fernet.key")
    assert settings.azure.tenant_id is None
    assert settings.azure.disable_instance_discovery is False
    assert settings.azure.connection_timeout == 30
    assert settings.azure.authority_host == "https://login.microsoftonline.com"
    assert settings.backup.worker_pool_size == "auto"
    assert settings.backup.exclude_everywhere == ["azure_maintenance", "azure_sys"]
    assert settings.backup.pg_bin_dir is None
    assert settings.backup.compression == "zstd:1"
    assert settings.backup.period_offset_months == 0
    assert settings.backup.timezone == "UTC"
    assert settings.retention.worker_pool_size == 4
    assert settings.retention.minimum_keep == 1
    assert settings.share.cifs_driver == "mount"
    assert settings.share.use_sudo is False


def test_the_config_file_is_named_by_lts_config_or_defaults_to_etc():
    assert config_file({}) == DEFAULT_CONFIG_FILE == Path("/etc/long-term-storage/config.toml")
    assert config_file({"LTS_CONFIG": "/srv/lts.toml"}) == Path("/srv/lts.toml")


def test_values_come_from_the_toml_file(tmp_path):
    environ = write_config(
        tmp_path,
        """
        [paths]
        log_root = "/srv/logs"
        [logging]
        level = "debug"
        json = true
        [azure]
        tenant_id = "contoso"
        disable_instance_discovery = true
        [backup]
        worker_pool_size = 8
        exclude_everywhere = ["postgres", "scratch"]
        pg_bin_dir = "/usr/lib/postgresql/16/bin"
        compression = "zstd:3"
        period_offset_months = 3
        timezone = "Europe/Paris"
        [retention]
        minimum_keep = 3
        [share]
        cifs_driver = "smb"
        mount_options = "vers=3.1.1"
        """,
    )
    settings = load_settings(environ)
    assert settings.paths.log_root == Path("/srv/logs")
    assert settings.paths.mount_root == Path("/mnt/long-term-storage")  # untouched default
    assert settings.logging.level == "DEBUG"
    assert settings.logging.json_lines is True
    assert settings.azure.tenant_id == "contoso"
    assert settings.azure.disable_instance_discovery is True
    assert settings.backup.worker_pool_size == 8
    assert settings.backup.exclude_everywhere == ["postgres", "scratch"]
    assert settings.backup.pg_bin_dir == Path("/usr/lib/postgresql/16/bin")
    assert settings.backup.compression == "zstd:3"
    assert settings.backup.period_offset_months == 3
    assert settings.backup.timezone == "Europe/Paris"
    assert settings.retention.minimum_keep == 3
    assert settings.share.cifs_driver == "smb"
    assert settings.share.mount_options == "vers=3.1.1"


def test_an_environment_variable_beats_the_toml_file(tmp_path):
    environ = write_config(tmp_path, "[backup]\nworker_pool_size = 8\ntimezone = 'Europe/Paris'\n")
    settings = load_settings({**environ, "LTS_BACKUP__WORKER_POOL_SIZE": "16"})
    assert settings.backup.worker_pool_size == 16
    assert settings.backup.timezone == "Europe/Paris"  # the file's other keys stay


def test_environment_names_use_the_nested_delimiter_in_any_case(tmp_path):
    environ = {
        "LTS_CONFIG": str(tmp_path / "missing.toml"),
        "lts_share__use_sudo": "true",
        "LTS_Logging__Json": "1",
        "LTS_AZURE__CONNECTION_TIMEOUT": "12.5",
        "LTS_PATHS__LOCK_ROOT": "/var/lock/long-term-storage",
    }
    settings = load_settings(environ)
    assert settings.share.use_sudo is True
    assert settings.logging.json_lines is True
    assert settings.azure.connection_timeout == 12.5
    assert settings.paths.lock_root == Path("/var/lock/long-term-storage")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgres, scratch ,tmp", ["postgres", "scratch", "tmp"]),
        ('["postgres", "a,b"]', ["postgres", "a,b"]),
        ("", []),
    ],
)
def test_exclude_everywhere_accepts_a_comma_separated_or_json_list_from_the_environment(
    tmp_path, value, expected
):
    environ = {"LTS_CONFIG": str(tmp_path / "none.toml"), "LTS_BACKUP__EXCLUDE_EVERYWHERE": value}
    assert load_settings(environ).backup.exclude_everywhere == expected


def test_keyword_arguments_beat_the_environment_and_the_file(tmp_path, monkeypatch):
    environ = write_config(tmp_path, "[retention]\nworker_pool_size = 8\n")
    monkeypatch.setenv("LTS_CONFIG", environ["LTS_CONFIG"])
    monkeypatch.setenv("LTS_RETENTION__WORKER_POOL_SIZE", "6")
    assert Settings().retention.worker_pool_size == 6
    assert Settings(retention={"worker_pool_size": 5}).retention.worker_pool_size == 5


def test_load_settings_without_arguments_reads_the_process_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LTS_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.setenv("LTS_BACKUP__WORKER_POOL_SIZE", "7")
    assert load_settings().backup.worker_pool_size == 7


def test_load_settings_with_a_mapping_ignores_the_process_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LTS_BACKUP__WORKER_POOL_SIZE", "7")
    settings = load_settings({"LTS_CONFIG": str(tmp_path / "missing.toml")})
    assert settings.backup.worker_pool_size == "auto"


def test_bad_values_are_reported_one_line_per_key_without_their_values(tmp_path):
    environ = write_config(
        tmp_path,
        """
        [backup]
        worker_pool_size = 0
        compression = "brotli-VALUE-1"
        timezone = "Mars/Olympus-VALUE-2"
        period_offset_months = 12
        [logging]
        rotation = "hourly"
        [share]
        cifs_driver = "nfs-VALUE-3"
        """,
    )
    with pytest.raises(SettingsError) as refused:
        load_settings({**environ, "LTS_RETENTION__MINIMUM_KEEP": "0"})
    lines = str(refused.value).splitlines()
    assert sorted(line.split(":")[0] for line in lines) == [
        "backup.compression",
        "backup.period_offset_months",
        "backup.timezone",
        "backup.worker_pool_size",
        "logging.rotation",
        "retention.minimum_keep",
        "share.cifs_driver",
    ]
    assert (
        'backup.worker_pool_size: Value error, must be "auto" or a whole number from 1 to 64'
        in lines
    )
    assert "VALUE" not in str(refused.value)
    assert refused.value.__cause__ is None


def test_an_unknown_key_is_refused_so_a_typo_never_falls_back_to_a_default(tmp_path):
    environ = write_config(tmp_path, "[backup]\nworker_pool_sise = 4\n[bakup]\nx = 1\n")
    with pytest.raises(SettingsError) as refused:
        load_settings(environ)
    assert str(refused.value).splitlines() == [
        "backup.worker_pool_sise: Extra inputs are not permitted",
        "bakup: Extra inputs are not permitted",
    ]


def test_an_unknown_key_in_the_environment_is_refused(tmp_path):
    environ = {"LTS_CONFIG": str(tmp_path / "none.toml"), "LTS_SHARE__MOUNT_OPTION": "x"}
    with pytest.raises(SettingsError, match=r"^share\.mount_option: Extra inputs"):
        load_settings(environ)


def test_a_config_file_that_is_not_toml_gives_one_clear_line(tmp_path):
    environ = write_config(tmp_path, "[backup\nworker_pool_size = 4\n")
    with pytest.raises(SettingsError) as refused:
        load_settings(environ)
    message = str(refused.value)
    assert message.startswith(f"the master config {environ['LTS_CONFIG']} is not valid TOML: ")
    assert "\n" not in message


def test_lts_config_naming_a_missing_file_gives_the_defaults(tmp_path):
    settings = load_settings({"LTS_CONFIG": str(tmp_path / "nowhere" / "config.toml")})
    assert settings == load_settings({"LTS_CONFIG": str(tmp_path / "also-missing.toml")})
    assert settings.backup.worker_pool_size == "auto"


def test_settings_are_frozen(tmp_path):
    settings = load_settings({"LTS_CONFIG": str(tmp_path / "missing.toml")})
    with pytest.raises(ValueError, match="frozen"):
        settings.backup.worker_pool_size = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"), [("auto", "auto"), ("AUTO", "auto"), ("3", 3), ("64", 64)]
)
def test_the_worker_pool_is_auto_or_a_number_also_from_the_environment(tmp_path, value, expected):
    environ = {"LTS_CONFIG": str(tmp_path / "none.toml"), "LTS_BACKUP__WORKER_POOL_SIZE": value}
    assert load_settings(environ).backup.worker_pool_size == expected


def test_the_worker_pool_from_toml_takes_auto_or_a_number(tmp_path):
    assert load_settings(write_config(tmp_path, "[backup]\nworker_pool_size = 4\n")).backup == (
        load_settings(write_config(tmp_path, '[backup]\nworker_pool_size = "4"\n')).backup
    )
    auto = load_settings(write_config(tmp_path, '[backup]\nworker_pool_size = "auto"\n'))
    assert auto.backup.worker_pool_size == "auto"


@pytest.mark.parametrize("value", ["0", "65", "two", "-1", "1.5", "true", "٦", "²", "inf"])
def test_a_worker_pool_that_is_neither_auto_nor_1_to_64_is_one_line(tmp_path, value):
    environ = {"LTS_CONFIG": str(tmp_path / "none.toml"), "LTS_BACKUP__WORKER_POOL_SIZE": value}
    with pytest.raises(SettingsError) as refused:
        load_settings(environ)
    assert str(refused.value) == (
        'backup.worker_pool_size: Value error, must be "auto" or a whole number from 1 to 64'
    )


@pytest.mark.parametrize("value", ["zstd", "zstd:1", "zstd:19", "zstd:level=3", "gzip:6", "6"])
def test_zstd_and_gzip_compressions_are_accepted(tmp_path, value):
    environ = {"LTS_CONFIG": str(tmp_path / "none.toml"), "LTS_BACKUP__COMPRESSION": value}
    assert load_settings(environ).backup.compression == value


@pytest.mark.parametrize("value", ["zstd:0", "zstd:20", "zstd:22"])
def test_a_zstd_level_a_stock_zstd_cannot_decompress_is_one_line(tmp_path, value):
    environ = {"LTS_CONFIG": str(tmp_path / "none.toml"), "LTS_BACKUP__COMPRESSION": value}
    with pytest.raises(SettingsError) as refused:
        load_settings(environ)
    message = str(refused.value)
    assert message.startswith("backup.compression: Value error, zstd level ")
    assert "outside 1..19" in message
    assert "\n" not in message


def test_the_check_section_demands_drills_only_when_told(tmp_path):
    from datetime import timedelta

    absent = load_settings({"LTS_CONFIG": str(tmp_path / "absent.toml")})
    assert absent.check.drill_max_age is None
    assert absent.backup.count_rows is True
    config = tmp_path / "config.toml"
    config.write_text("[check]\ndrill_max_age_days = 7\n[backup]\ncount_rows = false\n")
    settings = load_settings({"LTS_CONFIG": str(config)})
    assert settings.check.drill_max_age == timedelta(days=7)
    assert settings.backup.count_rows is False
    with pytest.raises(SettingsError, match=r"check\.drill_max_age_days"):
        load_settings({"LTS_CONFIG": str(config), "LTS_CHECK__DRILL_MAX_AGE_DAYS": "-1"})
