"""Find the runs stored on a share and read their manifests (SPEC section 7 layout)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import PurePosixPath
from typing import TypeVar

from pydantic import ValidationError

from domain.models.manifest import MANIFEST_FILE, Manifest, ManifestDigest
from domain.models.run import PARTIAL_SUFFIX, Period, RunId, StoredRun, Tier
from domain.rules.rekeying import PENDING_MANIFEST
from ports.errors import InvalidManifestError
from ports.file_share import FileShare

M = TypeVar("M", Manifest, ManifestDigest)

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
"""A manifest is small; a larger file is not one and is not read into memory."""


class RunCatalog:
    """Lists runs by walking `<tier>/<period>/<RUN_ID>` without following symlinks."""

    def __init__(self, share: FileShare) -> None:
        self._share = share

    def runs(self, tier: Tier, *, include_partial: bool = False) -> list[StoredRun]:
        """Return the runs of a tier, oldest first; names that are not runs are ignored."""
        found: list[StoredRun] = []
        for period in self._share.list_dir(PurePosixPath(tier)):
            if not period.is_dir or period.is_symlink:
                continue
            for entry in self._share.list_dir(PurePosixPath(tier, period.name)):
                if not entry.is_dir or entry.is_symlink:
                    continue
                partial = entry.name.endswith(PARTIAL_SUFFIX)
                if partial and not include_partial:
                    continue
                try:
                    run_id = RunId.parse(entry.name.removesuffix(PARTIAL_SUFFIX))
                except ValueError:
                    continue
                found.append(StoredRun(run_id, tier, period.name, partial))
        return sorted(found)

    def free_run_id(self, period: Period, run_id: RunId) -> RunId:
        """Return `run_id`, moved on by seconds past any run (or debris) already named so.

        A rerun in the same second as a killed run must never adopt its partial directory; the
        manifest keeps the real start time.
        """
        while any(
            self._share.exists(PurePosixPath(period.folder, f"{run_id}{suffix}"))
            for suffix in ("", PARTIAL_SUFFIX)
        ):
            run_id = RunId(run_id.started + timedelta(seconds=1))
        return run_id

    def all_runs(self) -> list[StoredRun]:
        """Return the published runs of both tiers, oldest first."""
        return sorted(run for tier in Tier for run in self.runs(tier))

    def manifest(self, run: StoredRun) -> Manifest:
        """Read and validate a run's whole manifest.

        Raises:
            InvalidManifestError: the manifest is missing, too large, or not a valid manifest.
            ShareUnavailableError: the share could not be read (not the manifest's fault).
        """
        return self._validated(run, Manifest)

    def digest(self, run: StoredRun) -> ManifestDigest:
        """Read the databases and statuses of a run's manifest, leniently (see ManifestDigest).

        Raises:
            InvalidManifestError: the manifest is missing, too large, or lists no databases.
            ShareUnavailableError: the share could not be read (not the manifest's fault).
        """
        return self._validated(run, ManifestDigest)

    def manifest_path(self, run: StoredRun) -> PurePosixPath:
        """Return where the run's manifest is: manifest.json, or a rekey's pending one.

        A rekey switches manifests with one atomic replace; only when a share's rename is not
        atomic (the kernel CIFS client falls back to delete-then-rename when the server refuses
        to replace) can manifest.json be missing for a moment, and then the complete pending
        manifest.json.next is the run's manifest.

        Raises:
            InvalidManifestError: neither exists.
        """
        path = run.path / MANIFEST_FILE
        if self._share.exists(path):
            return path
        pending = run.path / PENDING_MANIFEST
        if self._share.exists(pending):
            return pending
        raise InvalidManifestError(f"{path} is missing")

    def manifest_bytes(self, run: StoredRun) -> tuple[bytes, Manifest]:
        """Return a run's manifest as stored (the bytes its signature covers) and validated.

        Raises:
            InvalidManifestError: the manifest is missing, too large, or not a valid manifest.
            ShareUnavailableError: the share could not be read (not the manifest's fault).
        """
        path = self.manifest_path(run)
        data = self._read(path)
        return data, _parsed(path, data, Manifest)

    def _validated(self, run: StoredRun, model: type[M]) -> M:
        path = self.manifest_path(run)
        return _parsed(path, self._read(path), model)

    def _read(self, path: PurePosixPath) -> bytes:
        data = bytearray()
        for chunk in self._share.read_stream(path):
            data.extend(chunk)
            if len(data) > MAX_MANIFEST_BYTES:
                raise InvalidManifestError(f"{path} is too large to be a manifest")
        return bytes(data)


def _parsed(path: PurePosixPath, data: bytes, model: type[M]) -> M:
    try:
        return model.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidManifestError(f"{path} is not a valid manifest: {first}") from exc
