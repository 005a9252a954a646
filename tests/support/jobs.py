"""Run jobs as the scheduler does (a child `python -m entrypoints.<job>`) and set up their world."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from adapters.fernet.cipher import generate_key_file
from tests.support.faketime import faketime_env

REPO = Path(__file__).resolve().parents[2]


@dataclass
class JobResult:
    """What a job run left: exit code and its stdout and stderr lines."""

    code: int
    stdout: str
    stderr: str

    @property
    def failures(self) -> list[str]:
        """Return the `Failure:` lines."""
        return [line for line in self.stdout.splitlines() if line.startswith("Failure: ")]


@dataclass
class Site:
    """An operator's host in a temp dir: master config, key file, log, lock, work and share dirs."""

    root: Path
    settings: dict[str, dict[str, object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("logs", "locks", "work", "mnt", "share", "configs"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self.key_file = self.root / "fernet.key"
        if not self.key_file.exists():
            generate_key_file(self.key_file)
        self.write_master_config()

    @property
    def share(self) -> Path:
        """Return the local directory used as the client's share."""
        return self.root / "share"

    @property
    def config_path(self) -> Path:
        """Return the master config file."""
        return self.root / "config.toml"

    def write_master_config(self) -> None:
        """Write config.toml from the defaults below and `settings`."""
        sections: dict[str, dict[str, object]] = {
            "paths": {
                "log_root": str(self.root / "logs"),
                "lock_root": str(self.root / "locks"),
                "work_root": str(self.root / "work"),
                "mount_root": str(self.root / "mnt"),
            },
            "secrets": {"key_file": str(self.key_file)},
            "backup": {"worker_pool_size": 2},
        }
        for name, values in self.settings.items():
            sections.setdefault(name, {}).update(values)
        lines = []
        for name, values in sections.items():
            lines.append(f"[{name}]")
            lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    def write_client_config(self, name: str, values: dict[str, str]) -> str:
        """Write a client config TOML (mode 0600) and return its file:// URL."""
        path = self.root / "configs" / f"{name}.toml"
        path.write_text("".join(f"{key} = {toml_value(value)}\n" for key, value in values.items()))
        path.chmod(0o600)
        return f"file://{path}"

    def logs(self) -> str:
        """Return every log file's content."""
        files = (self.root / "logs").rglob("*.log*")
        return "\n".join(path.read_text(errors="replace") for path in files)

    def run(
        self,
        job: str,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 300,
        at: str | None = None,
    ) -> JobResult:
        """Run `python -m entrypoints.<job> ARGS` with this site's master config.

        `at` runs the job at another date through libfaketime (as `faketime "2029-11-28 12:00"`
        would, see tests.support.faketime).
        """
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("LTS_")}
        child_env["LTS_CONFIG"] = str(self.config_path)
        child_env.update(env or {})
        if at:
            child_env.update(faketime_env(at))
        completed = subprocess.run(
            [sys.executable, "-m", f"entrypoints.{job}", *args],
            cwd=REPO,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return JobResult(completed.returncode, completed.stdout, completed.stderr)


def toml_value(value: object) -> str:
    """Return a TOML literal for a str, int, bool or list of str."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def b64(data: bytes) -> str:
    """Return base64 text of `data`."""
    return base64.b64encode(data).decode()
