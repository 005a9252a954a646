"""Fuzz the master config (SPEC 6.1): the TOML file and the `LTS_*` environment.

In-process, `load_settings` is given generated files (known and unknown sections and keys, any
TOML value, infinities and NaN, control characters, bytes that are not UTF-8) and environments:
it must return settings every job can use, or raise SettingsError, whose text the job prints as
one line. Any other exception fails the test. A few bad master configs then go through a real
job: one `Critical failure:` line, exit 1, nothing on stderr, nothing made.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.models.text import one_line
from domain.rules.parallelism import plan_parallelism
from entrypoints.settings import Settings, SettingsError, load_settings
from tests.reliability.conftest import MakeSite
from tests.reliability.tally import TALLY
from tests.support.jobs import toml_value

EXAMPLES = 400
UNUSED_SECRET = "no-job-here-is-given-this-secret"
"""The sites of these tests hold no secret; the session's scan still wants one to look for."""
KNOWN = {
    section: sorted(
        field.alias or name
        for name, field in Settings.model_fields[section].annotation.model_fields.items()  # type: ignore[union-attr]
    )
    for section in Settings.model_fields
}


def toml_literal(value: object) -> str:
    """Return a TOML literal for the generated value (floats as TOML spells inf and nan)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_escaped(char) for char in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    return toml_value(value)


def _escaped(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04x}"
    return char


values = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e300, float("inf"), float("nan")]),
    st.booleans(),
    st.text(max_size=40),
    st.sampled_from(["/tmp", "", "relative/path", "INFO", "debug", "smb", "mount", "gzip:6"]),
    st.lists(st.text(max_size=10), max_size=3),
)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """Return a master config file: mostly well-formed TOML with odd content, sometimes not."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    lines = []
    for section in draw(st.lists(st.sampled_from([*KNOWN, "frobs", "Backup"]), max_size=4)):
        lines.append(f"[{section}]")
        keys = [*KNOWN.get(section, ["x"]), "unknown_key"]
        for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            lines.append(f"{key} = {toml_literal(draw(values))}")
    text = "\n".join(lines) + "\n"
    if draw(st.integers(0, 9)) == 0:
        return text.encode() + b"# \xff\xfe not utf-8\n"
    return text.encode()


environments = st.dictionaries(
    st.sampled_from(
        [
            "LTS_BACKUP__WORKER_POOL_SIZE",
            "LTS_BACKUP__SHARE_LOCK_MAX_AGE_HOURS",
            "LTS_RETENTION__PARTIAL_MAX_AGE_HOURS",
            "LTS_AZURE__CONNECTION_TIMEOUT",
            "LTS_LOGGING__LEVEL",
            "LTS_FROBS__X",
            "LTS_BACKUP",
            "lts_share__cifs_driver",
            "LTS_PATHS__WORK_ROOT",
        ]
    ),
    st.sampled_from(["1", "0", "-3", "inf", "nan", "1e400", "", "x", "{}", "[1]", "é\n"]),
    max_size=3,
)


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("master-configs")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(document=documents(), environment=environments)
def test_a_fuzzed_master_config_gives_usable_settings_or_one_clear_line(
    config_dir: Path, document: bytes, environment: dict[str, str]
) -> None:
    TALLY.inputs["master config"] += 1
    path = config_dir / "config.toml"
    path.write_bytes(document)
    try:
        loaded = load_settings({"LTS_CONFIG": str(path), **environment})
    except SettingsError as error:
        line = one_line(str(error))
        assert line, document
        assert line.isprintable(), line
        return
    # What the jobs derive from the settings must not fail either.
    assert loaded.backup.share_lock_max_age.total_seconds() > 0
    assert loaded.retention.partial_max_age.total_seconds() > 0
    assert math.isfinite(loaded.azure.connection_timeout)
    assert math.isfinite(loaded.azure.read_timeout)
    pool = loaded.backup.worker_pool_size
    assert pool == "auto" or 1 <= pool <= 64
    assert plan_parallelism(cpus=2, pool=pool).pool >= 1


BAD_MASTER_CONFIGS = {
    "not UTF-8": (b"[backup]\n# caf\xe9\nworker_pool_size = 2\n", {}),
    "infinite share lock age": (b"[backup]\nshare_lock_max_age_hours = inf\n", {}),
    "NaN partial age": (b"[retention]\npartial_max_age_hours = nan\n", {}),
    "infinity from the environment": (b"", {"LTS_BACKUP__SHARE_LOCK_MAX_AGE_HOURS": "inf"}),
    "an unknown section in the environment": (b"", {"LTS_FROBS__X": "1"}),
    "an unknown key": (b"[backup]\nworker_pool_sise = 3\n", {}),
    "a newline in a value": (b'[logging]\nlevel = "INFO\\nDEBUG"\n', {}),
}


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(BAD_MASTER_CONFIGS))
def test_a_bad_master_config_is_one_critical_line_and_exit_1(
    case: str, make_site: MakeSite
) -> None:
    site = make_site(UNUSED_SECRET)
    content, environment = BAD_MASTER_CONFIGS[case]
    if content:
        site.config_path.write_bytes(content)
    else:
        site.write_master_config()
    work = site.root / "work"
    work.rmdir()

    result = site.run("backup", "acme", "6", "file:///nowhere/acme.toml", "-", "-", env=environment)

    TALLY.inputs["master config through a job"] += 1
    assert result.code == 1, result.stdout + result.stderr
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("Critical failure: ")
    assert result.stderr == ""
    assert not work.exists(), "nothing was made"


@pytest.mark.integration
def test_lts_config_naming_a_directory_is_one_critical_line(make_site: MakeSite) -> None:
    site = make_site(UNUSED_SECRET)
    result = site.run(
        "list", "acme", "file:///nowhere/acme.toml", "-", "-", env={"LTS_CONFIG": str(site.root)}
    )
    TALLY.inputs["master config through a job"] += 1
    assert (result.code, result.stderr) == (1, "")
    assert result.stdout == f"Critical failure: the master config {site.root} is not a file\n"


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["shared", "file"])
def test_an_unusable_work_root_is_one_critical_line_and_nothing_runs(
    kind: str, make_site: MakeSite
) -> None:
    site = make_site(UNUSED_SECRET)
    work = site.root / "work"
    if kind == "shared":
        work.chmod(0o1777)
    else:
        work.rmdir()
        work.write_text("")
    result = site.run("backup", "acme", "6", "file:///nowhere/acme.toml", "-", "-")
    TALLY.inputs["master config through a job"] += 1
    assert (result.code, result.stderr) == (1, ""), result.stdout
    [line] = result.stdout.splitlines()
    assert line.startswith(f"Critical failure: the work root {work} ")


@pytest.mark.integration
def test_under_umask_000_every_directory_a_job_makes_is_private(make_site: MakeSite) -> None:
    site = make_site(UNUSED_SECRET)
    for name in ("work", "logs", "locks"):
        (site.root / name).rmdir()
    previous = os.umask(0)
    try:
        site.run("backup", "acme", "6", "file:///nowhere/acme.toml", "-", "-")
    finally:
        os.umask(previous)
    root = site.root
    made = [root / "work", root / "logs", root / "logs" / "acme", root / "locks"]
    assert {path: oct(path.stat().st_mode & 0o777) for path in made if path.exists()} == {
        path: "0o700" for path in made if path.exists()
    }
    assert (site.root / "work").exists()
