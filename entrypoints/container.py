"""The one dependency-injector container, and how an entry point runs a job with it.

`Container(request=...)` wires one job run from its typed request (entrypoints/requests.py). It
only builds things (no `if`, no `try`): choices go through `providers.Selector` keyed by a config
store's URL scheme or a master-config value. Nothing happens at import time. Tests override
providers on an instance. `run_job` and `run_tool` are what every entry point calls.

Longer than 300 lines on purpose: it is one declarative list, read top to bottom in sections
(settings, host adapters, config stores, shares, PostgreSQL and gpg, the share lifecycle, one
section per family of jobs, end points); splitting it would scatter the wiring of one job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from dependency_injector import containers, providers

from adapters.azure.key_vault import KeyVaultConfigSource
from adapters.cifs.mount import CifsMount
from adapters.fernet.cipher import FernetSecretCipher, FernetTokenSecret
from adapters.files.local_share import LocalDirFileShare
from adapters.files.opener import SchemeShareOpener, local_share_from_target
from adapters.files.toml_config import TomlFileConfigSource
from adapters.files.toml_writer import TomlFileConfigWriter
from adapters.gpg.decryptor import GpgDecryptor
from adapters.gpg.encryptor import GpgEncryptor
from adapters.gpg.keygen import GpgKeyGenerator
from adapters.gpg.keyring import dispose_keyring_home
from adapters.gpg.signing import GpgSigner
from adapters.gpg.verifying import GpgSignatureChecker
from adapters.html.writer import HtmlReportWriter
from adapters.memory.config_source import InMemoryConfigSource
from adapters.os.clock import SystemClock
from adapters.os.console import StdoutConsole
from adapters.os.cpus import usable_cpus
from adapters.os.exit import ProcessExit
from adapters.os.job_guard import guard_job
from adapters.os.local_files import PrivateLocalFiles
from adapters.os.lock import FlockLock
from adapters.os.logging import client_logging
from adapters.os.metrics import TextfileMetrics
from adapters.os.paths import make_private_dirs
from adapters.os.processes import LocalHostProcesses
from adapters.os.public_files import write_public_file
from adapters.os.task_runner import ThreadPoolTaskRunner
from adapters.postgres.archive_reader import PgArchiveReader
from adapters.postgres.credentials import (
    CredentialsByAuth,
    EntraTokenCredentials,
    PasswordCredentials,
)
from adapters.postgres.database import PostgresDatabase
from adapters.postgres.dumper import PgDumper
from adapters.postgres.restorer import PgRestorer
from adapters.process.leftovers import KEYRING, Leftovers
from adapters.process.zstd import ZstdDecompressor
from domain.framework.endpoints import DynamicMountingEndPoint, EndPoint
from domain.machines.archive import ArchiveFileMachine
from domain.machines.backup import BackupClientMachine, BackupPorts
from domain.machines.check import CheckClientMachine, CheckPorts
from domain.machines.create_client import CreateClientMachine, OnboardingPorts
from domain.machines.decrypt import DecryptDumpMachine
from domain.machines.drill import DrillRunMachine
from domain.machines.hold import HoldRunMachine, ReleaseRunMachine
from domain.machines.listing import ListRunsMachine
from domain.machines.mount import MountShareMachine
from domain.machines.rekey import RekeyClientMachine, RekeyPorts
from domain.machines.report import ReportClientMachine, ReportFleetMachine
from domain.machines.restore import RestoreDatabaseMachine
from domain.machines.restore_ports import RestorePorts
from domain.machines.retention import RetentionOptions, RetentionPorts
from domain.machines.retention_job import RetentionClientMachine
from domain.machines.survey import SurveyClientMachine
from domain.machines.verify import VerifyRunsMachine
from domain.models.operations import CheckPolicy
from domain.models.policy import BackupPolicy
from domain.models.redaction import Redactor
from domain.models.report import ReportPolicy
from domain.models.signing import SigningKeyFiles, SigningPolicy
from domain.models.text import one_line
from domain.rules.parallelism import plan_parallelism
from domain.services.job_metrics import JobMetricsRecorder
from entrypoints.azure import azure_options
from entrypoints.diagram import MACHINES
from entrypoints.fleet import KeyVaultSources, SchemeConfigOpener, toml_source
from entrypoints.host import (
    current_operator,
    probe_name,
    process_owner,
    signing_user_id,
    tool_version,
)
from entrypoints.requests import JobRequest, ReportJob, ToolRequest
from entrypoints.settings import SettingsError, load_settings
from entrypoints.tools import DiagramTool, EncryptSecretTool, GenerateKeyTool
from ports.errors import LtsError
from ports.file_share import FileShare, ShareTarget

logger = logging.getLogger("lts.job")

T = TypeVar("T")
R = TypeVar("R")


def kernel_cifs_share(target: ShareTarget, **mount_options: object) -> FileShare:
    """Return a `//host/share` mounted by the kernel: a local directory once mounted."""
    mount = CifsMount(target, **mount_options)  # type: ignore[arg-type]
    return LocalDirFileShare(mount.mount_point, mounter=mount)


def userspace_smb_share(target: ShareTarget, redactor: Redactor) -> FileShare:
    """Return a `//host/share` reached by userspace SMB (smbprotocol).

    Imported here, not at the top: smbprotocol and its SPNEGO stack take about a fifth of a
    second to import, which every job would pay on every start for shares that never use it.
    """
    from adapters.smb.share import SmbFileShare

    return SmbFileShare(target, redactor=redactor)


def one_each(factory: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """Return `factory(item)` for each item (one machine per client of the fleet)."""
    return [factory(item) for item in items]


def given_or(given: Path | None, default: Path) -> Path:
    """Return a path given on the command line, else the master config's."""
    return given or default


def signing_key_files(wanted: bool, key_file: Path | None) -> SigningKeyFiles | None:
    """Return where create_client --signing writes the signing key; None without --signing."""
    return SigningKeyFiles(key_file) if wanted else None


def close_all_of(loader: object | None) -> Callable[[], None]:
    """Return a loader's `close_all` (a last guard), or nothing to do for an absent one."""
    close_all: Callable[[], None] = getattr(loader, "close_all", lambda: None)
    return close_all


class Container(containers.DeclarativeContainer):
    """Wires one job run: `Container(request=BackupJob(...))`."""

    # ---------------------------------------------------------------- request and settings
    request: providers.Dependency[JobRequest | ReportJob | ToolRequest] = providers.Dependency()
    settings = providers.Singleton(load_settings)
    redactor = providers.Singleton(Redactor)
    azure = providers.Singleton(azure_options, settings.provided.azure, request)

    # ---------------------------------------------------------------- process plumbing
    logging = providers.Resource(
        client_logging,
        log_root=settings.provided.paths.log_root,
        client=request.provided.client_name,
        job=request.provided.job,
        level=settings.provided.logging.level,
        backup_count=settings.provided.logging.backup_count,
        json=settings.provided.logging.json_lines,
        redactor=redactor,
    )

    # ---------------------------------------------------------------- host adapters
    console = providers.Singleton(StdoutConsole)
    exit = providers.Singleton(ProcessExit)
    clock = providers.Singleton(SystemClock)
    cipher = providers.Singleton(FernetSecretCipher, key_file=settings.provided.secrets.key_file)
    lock = providers.Singleton(FlockLock, lock_root=settings.provided.paths.lock_root, clock=clock)
    leftovers = providers.Singleton(
        Leftovers,
        work_root=settings.provided.paths.work_root,
        disposers=providers.Dict({KEYRING: providers.Object(dispose_keyring_home)}),
    )
    local_files = providers.Singleton(
        PrivateLocalFiles, work_root=settings.provided.paths.work_root, leftovers=leftovers
    )
    # The pool and zstd's threads are sized together from the CPUs (domain/rules/parallelism.py).
    cpus = providers.Singleton(usable_cpus)
    parallelism = providers.Singleton(
        plan_parallelism,
        cpus=cpus,
        pool=settings.provided.backup.worker_pool_size,
    )
    backup_runner = providers.Singleton(ThreadPoolTaskRunner, workers=parallelism.provided.pool)
    retention_runner = providers.Singleton(
        ThreadPoolTaskRunner, workers=settings.provided.retention.worker_pool_size
    )
    host_processes = providers.Singleton(LocalHostProcesses)
    # Signals, the private work root and the sweep of killed jobs' leftovers (SPEC 15).
    job_guard = providers.Resource(
        guard_job,
        work_root=settings.provided.paths.work_root,
        leftovers=leftovers,
        log_file=logging,
    )

    # ---------------------------------------------------------------- config stores
    # One Key Vault source, completed below with the vault and principal of either store.
    key_vault = providers.Factory(
        KeyVaultConfigSource,
        tenant_id=azure.provided.tenant_id,
        authority_host=azure.provided.authority_host,
        disable_instance_discovery=azure.provided.disable_instance_discovery,
        client_options=azure.provided.client_options,
        redactor=redactor,
    )
    config_source = providers.Selector(
        request.provided.config.scheme,
        file=providers.Factory(TomlFileConfigSource, url=request.provided.config.url),
        https=providers.Factory(
            key_vault,
            vault_url=request.provided.config.url,
            client_id=request.provided.config.client_id,
            client_secret=providers.Factory(
                FernetTokenSecret, cipher=cipher, token=request.provided.config.client_secret
            ),
        ),
    )
    restore_source = providers.Selector(
        request.provided.restore_scheme,
        none=providers.Object(None),
        file=providers.Factory(TomlFileConfigSource, url=request.provided.restore.url),
        https=providers.Factory(
            key_vault,
            vault_url=request.provided.restore.url,
            client_id=request.provided.restore.client_id,
            client_secret=providers.Factory(
                FernetTokenSecret, cipher=cipher, token=request.provided.restore.client_secret
            ),
        ),
    )

    # ---------------------------------------------------------------- shares
    share_opener = providers.Singleton(
        SchemeShareOpener,
        openers=providers.Dict(
            file=providers.Object(local_share_from_target),
            cifs=providers.Selector(
                settings.provided.share.cifs_driver,
                mount=providers.Factory(
                    kernel_cifs_share,
                    mount_root=settings.provided.paths.mount_root,
                    use_sudo=settings.provided.share.use_sudo,
                    extra_options=settings.provided.share.mount_options,
                    redactor=redactor,
                ).provider,
                smb=providers.Factory(userspace_smb_share, redactor=redactor).provider,
            ),
        ),
    )

    # ---------------------------------------------------------------- PostgreSQL and gpg
    pg_credentials = providers.Singleton(
        CredentialsByAuth,
        by_auth=providers.Dict(
            password=providers.Singleton(PasswordCredentials),
            entra=providers.Singleton(
                EntraTokenCredentials,
                tenant_id=azure.provided.tenant_id,
                authority_host=azure.provided.authority_host,
                disable_instance_discovery=azure.provided.disable_instance_discovery,
                client_options=azure.provided.client_options,
            ),
        ),
    )
    pg_bin_dir = settings.provided.backup.pg_bin_dir
    database = providers.Singleton(PostgresDatabase, credentials=pg_credentials, redactor=redactor)
    dumper = providers.Singleton(
        PgDumper,
        credentials=pg_credentials,
        redactor=redactor,
        pg_bin_dir=pg_bin_dir,
        compression=settings.provided.backup.compression,
        cpus=cpus,
        pool=parallelism.provided.pool,
        count_rows=settings.provided.backup.count_rows,
    )
    restorer = providers.Singleton(
        PgRestorer, credentials=pg_credentials, redactor=redactor, pg_bin_dir=pg_bin_dir
    )
    archives = providers.Singleton(PgArchiveReader, redactor=redactor, pg_bin_dir=pg_bin_dir)
    work_root = settings.provided.paths.work_root
    encryptor = providers.Singleton(
        GpgEncryptor, work_root=work_root, redactor=redactor, leftovers=leftovers
    )
    decryptor = providers.Singleton(
        GpgDecryptor, work_root=work_root, redactor=redactor, leftovers=leftovers
    )
    key_generator = providers.Singleton(
        GpgKeyGenerator, work_root=work_root, redactor=redactor, leftovers=leftovers
    )
    decompressor = providers.Singleton(ZstdDecompressor, redactor=redactor)
    # Runs are signed when [signing] key_file is set, and checked when trusted_keys is (SPEC 14).
    signer = providers.Selector(
        settings.provided.signing.signer,
        gpg=providers.Singleton(
            GpgSigner,
            key_file=settings.provided.signing.key_file,
            work_root=work_root,
            redactor=redactor,
            leftovers=leftovers,
        ),
        none=providers.Object(None),
    )
    signature_checker = providers.Selector(
        settings.provided.signing.checker,
        gpg=providers.Singleton(
            GpgSignatureChecker,
            trusted_keys=settings.provided.signing.trusted_keys,
            work_root=work_root,
            redactor=redactor,
            signing_key_file=settings.provided.signing.key_file,
            leftovers=leftovers,
        ),
        none=providers.Object(None),
    )
    signing_policy = providers.Factory(SigningPolicy, require=settings.provided.signing.require)

    # ---------------------------------------------------------------- metrics (SPEC 16)
    # Without `[metrics] textfile_dir` there is no Metrics adapter and no observer at all.
    metrics = providers.Selector(
        settings.provided.metrics.sink,
        none=providers.Object(None),
        textfile=providers.Singleton(
            TextfileMetrics, directory=settings.provided.metrics.textfile_dir
        ),
    )
    job_observer = providers.Selector(
        settings.provided.metrics.sink,
        none=providers.Object(None),
        textfile=providers.Factory(
            JobMetricsRecorder,
            metrics=metrics,
            clock=clock,
            client=request.provided.client_name,
            job=request.provided.job,
        ),
    )

    # ---------------------------------------------------------------- the share lifecycle
    client_mount = providers.Factory(
        MountShareMachine,
        job=request.provided.job,
        client=request.provided.client_name,
        source=config_source,
        opener=share_opener,
        redactor=redactor,
        config_url=request.provided.config.url,
    )
    # Jobs that change the tiers hold the client's lock; read-only ones and archive do not.
    locked_mount = providers.Factory(client_mount, lock=lock)
    mounting_end_point = providers.Factory(
        DynamicMountingEndPoint,
        mount=client_mount.provider,
        console=console,
        exit=exit,
        redactor=redactor,
        guards=providers.List(
            encryptor.provided.close_all,
            decryptor.provided.close_all,
            providers.Callable(close_all_of, signer),
            providers.Callable(close_all_of, signature_checker),
        ),
        observer=job_observer,
    )

    # ---------------------------------------------------------------- backup and retention
    retention_ports = providers.Factory(
        RetentionPorts, clock=clock, runner=retention_runner, console=console
    )
    retention_options = providers.Factory(
        RetentionOptions,
        minimum_keep=settings.provided.retention.minimum_keep,
        partial_max_age=settings.provided.retention.partial_max_age,
    )
    backup_machine = providers.Factory(
        BackupClientMachine,
        ports=providers.Factory(
            BackupPorts,
            database=database,
            dumper=dumper,
            encryptor=encryptor,
            clock=clock,
            runner=backup_runner,
            retention_runner=retention_runner,
            console=console,
            signer=signer,
        ),
        policy=providers.Factory(
            BackupPolicy,
            eoy_month=request.provided.eoy_month,
            timezone=settings.provided.backup.timezone,
            period_offset_months=settings.provided.backup.period_offset_months,
            exclude_everywhere=providers.Callable(
                frozenset, settings.provided.backup.exclude_everywhere
            ),
            min_dump_bytes=settings.provided.backup.min_dump_bytes,
            shrink_warning_ratio=settings.provided.backup.shrink_warning_ratio,
            share_lock_max_age=settings.provided.backup.share_lock_max_age,
            tool_version=providers.Callable(tool_version),
        ),
        lock_owner=providers.Callable(process_owner),
        retention=retention_options,
        processes=host_processes,
    )
    retention_machine = providers.Factory(
        RetentionClientMachine,
        ports=retention_ports,
        options=providers.Factory(retention_options, dry_run=request.provided.dry_run),
        lock_owner=providers.Callable(process_owner),
        share_lock_max_age=settings.provided.backup.share_lock_max_age,
        processes=host_processes,
    )
    list_machine = providers.Factory(
        ListRunsMachine, console=console, clock=clock, as_json=request.provided.as_json
    )

    # ---------------------------------------------------------------- restore, decrypt, verify
    restore_ports = providers.Factory(
        RestorePorts,
        decryptor=decryptor,
        restorer=restorer,
        archives=archives,
        files=local_files,
        clock=clock,
        decompressor=decompressor,
    )
    restore_machine = providers.Factory(
        RestoreDatabaseMachine,
        ports=restore_ports,
        restore_source=restore_source,
        request=request.provided.request,
        redactor=redactor,
    )
    decrypt_machine = providers.Factory(
        DecryptDumpMachine,
        ports=restore_ports,
        restore_source=restore_source,
        request=request.provided.request,
        redactor=redactor,
    )
    verify_machine = providers.Factory(
        VerifyRunsMachine,
        ports=restore_ports,
        runner=backup_runner,
        request=request.provided.request,
        redactor=redactor,
        restore_source=restore_source,
        checker=signature_checker,
        policy=signing_policy,
    )

    drill_machine = providers.Factory(
        DrillRunMachine,
        ports=restore_ports,
        restore_source=restore_source,
        request=request.provided.request,
        redactor=redactor,
        tool_version=providers.Callable(tool_version),
    )

    # ---------------------------------------------------------------- check, onboarding, archive
    check_machine = providers.Factory(
        CheckClientMachine,
        ports=providers.Factory(
            CheckPorts,
            database=database,
            dumper=dumper,
            encryptor=encryptor,
            decryptor=decryptor,
            clock=clock,
            decompressor=decompressor,
            signer=signer,
            checker=signature_checker,
        ),
        policy=providers.Factory(
            CheckPolicy,
            exclude_everywhere=providers.Callable(
                frozenset, settings.provided.backup.exclude_everywhere
            ),
            timezone=settings.provided.backup.timezone,
            period_offset_months=settings.provided.backup.period_offset_months,
            compression=settings.provided.backup.compression,
            drill_max_age=settings.provided.check.drill_max_age,
        ),
        redactor=redactor,
        probe_name=providers.Callable(probe_name),
        restore_source=restore_source,
    )
    backup_config_writer = providers.Selector(
        request.provided.config.scheme,
        file=providers.Factory(
            TomlFileConfigWriter, url=request.provided.config.url, make_dirs=make_private_dirs
        ),
        https=config_source,  # a Key Vault source writes too
    )
    restore_config_writer = providers.Selector(
        request.provided.restore_scheme,
        file=providers.Factory(
            TomlFileConfigWriter, url=request.provided.restore.url, make_dirs=make_private_dirs
        ),
        https=restore_source,
    )
    create_client_machine = providers.Factory(
        CreateClientMachine,
        new_client=request.provided.new_client,
        ports=providers.Factory(
            OnboardingPorts,
            key_generator=key_generator,
            backup_writer=backup_config_writer,
            restore_writer=restore_config_writer,
            backup_source=config_source,
            files=local_files,
        ),
        check=check_machine.provider,
        backup_config_url=request.provided.config.url,
        redactor=redactor,
        signing_key=providers.Callable(
            signing_key_files, request.provided.signing, settings.provided.signing.key_file
        ),
        signing_user_id=providers.Callable(signing_user_id),
    )
    # The new client's settings (with a placeholder key) are validated and mounted first.
    draft_mount = providers.Factory(
        client_mount,
        source=providers.Factory(
            InMemoryConfigSource, values=request.provided.new_client.draft_values.call()
        ),
    )
    archive_machine = providers.Factory(
        ArchiveFileMachine,
        request=request.provided.request,
        encryptor=encryptor,
        files=local_files,
        clock=clock,
        signer=signer,
    )

    # ---------------------------------------------------------------- rekey (SPEC 14)
    rekey_machine = providers.Factory(
        RekeyClientMachine,
        ports=providers.Factory(
            RekeyPorts,
            encryptor=encryptor,
            decryptor=decryptor,
            clock=clock,
            runner=backup_runner,
            console=console,
            signer=signer,
            checker=signature_checker,
        ),
        request=request.provided.request,
        restore_source=restore_source,
        redactor=redactor,
        policy=signing_policy,
        lock_owner=providers.Callable(process_owner),
        share_lock_max_age=settings.provided.backup.share_lock_max_age,
        processes=host_processes,
    )

    # ---------------------------------------------------------------- legal holds
    hold_machine = providers.Factory(
        HoldRunMachine,
        request=request.provided.hold,
        clock=clock,
        operator=providers.Callable(current_operator),
        lock_owner=providers.Callable(process_owner),
        share_lock_max_age=settings.provided.backup.share_lock_max_age,
        processes=host_processes,
    )
    release_machine = providers.Factory(ReleaseRunMachine, **hold_machine.kwargs)

    # ---------------------------------------------------------------- the fleet report
    config_opener = providers.Singleton(
        SchemeConfigOpener,
        by_scheme=providers.Dict(
            file=providers.Object(toml_source),
            https=providers.Factory(KeyVaultSources, key_vault=key_vault.provider, cipher=cipher),
        ),
    )
    report_policy = providers.Factory(
        ReportPolicy,
        timezone=settings.provided.backup.timezone,
        period_offset_months=settings.provided.backup.period_offset_months,
    )
    report_runner = providers.Singleton(
        ThreadPoolTaskRunner, workers=settings.provided.report.worker_pool_size
    )
    survey_machine = providers.Factory(
        SurveyClientMachine, encryptor=encryptor, clock=clock, retention=retention_options
    )
    # Each client's own share lifecycle, read-only (no lock); client and source per client.
    report_mount = providers.Factory(
        MountShareMachine, job="report", opener=share_opener, redactor=redactor
    )
    report_client = providers.Factory(
        ReportClientMachine,
        sources=config_opener,
        mount=report_mount.provider,
        survey=survey_machine.provider,
        clock=clock,
        policy=report_policy,
    )
    report_machine = providers.Factory(
        ReportFleetMachine,
        clients=providers.Callable(one_each, report_client.provider, request.provided.clients),
        writer=providers.Factory(
            HtmlReportWriter,
            output=request.provided.output,
            write=providers.Object(write_public_file),
        ),
        runner=report_runner,
        clock=clock,
        policy=report_policy,
    )

    # ---------------------------------------------------------------- end points
    backup_end_point = providers.Factory(
        mounting_end_point, mount=locked_mount.provider, job=backup_machine.provider
    )
    retention_end_point = providers.Factory(
        mounting_end_point, mount=locked_mount.provider, job=retention_machine.provider
    )
    list_end_point = providers.Factory(mounting_end_point, job=list_machine.provider)
    restore_end_point = providers.Factory(mounting_end_point, job=restore_machine.provider)
    decrypt_end_point = providers.Factory(mounting_end_point, job=decrypt_machine.provider)
    verify_end_point = providers.Factory(mounting_end_point, job=verify_machine.provider)
    check_end_point = providers.Factory(mounting_end_point, job=check_machine.provider)
    create_client_end_point = providers.Factory(
        mounting_end_point, mount=draft_mount.provider, job=create_client_machine.provider
    )
    archive_end_point = providers.Factory(mounting_end_point, job=archive_machine.provider)
    # Holds change what retention may delete: they hold the client's lock, as retention does.
    hold_end_point = providers.Factory(
        mounting_end_point, mount=locked_mount.provider, job=hold_machine.provider
    )
    release_end_point = providers.Factory(
        mounting_end_point, mount=locked_mount.provider, job=release_machine.provider
    )

    report_end_point = providers.Factory(
        EndPoint,
        machine=report_machine.provider,
        console=console,
        exit=exit,
        redactor=redactor,
        guards=providers.List(encryptor.provided.close_all),
        observer=job_observer,
    )
    rekey_end_point = providers.Factory(
        mounting_end_point, mount=locked_mount.provider, job=rekey_machine.provider
    )
    drill_end_point = providers.Factory(mounting_end_point, job=drill_machine.provider)

    # ---------------------------------------------------------------- host tools
    generate_key_end_point = providers.Factory(
        GenerateKeyTool,
        path=providers.Callable(
            given_or, request.provided.path, settings.provided.secrets.key_file
        ),
        console=console,
        exit=exit,
    )
    encrypt_secret_end_point = providers.Factory(
        EncryptSecretTool,
        key_file=providers.Callable(
            given_or, request.provided.key_file, settings.provided.secrets.key_file
        ),
        console=console,
        exit=exit,
    )
    diagram_end_point = providers.Factory(
        DiagramTool,
        machines=providers.Object(MACHINES),
        output=request.provided.output,
        check=request.provided.check,
        console=console,
        exit=exit,
        cwd=providers.Callable(Path.cwd),
    )


def run_job(request: JobRequest | ReportJob, container: Container | None = None) -> None:
    """Run the job of `request` on its client: log to the client log, execute, exit."""
    container = container or Container(request=request)
    try:
        container.init_resources()
    except (SettingsError, LtsError, OSError) as exc:
        # Without settings or a log file the job cannot start; say why in one line.
        _critical(container, exc)
        return
    try:
        logger.info("job %s: %s", request.job, request.shown)
        getattr(container, f"{request.job}_end_point")().execute()
    finally:
        container.shutdown_resources()


def run_tool(request: ToolRequest, container: Container | None = None) -> None:
    """Run a host tool (generate_key, encrypt_secret, diagram): no client, no client log."""
    container = container or Container(request=request)
    try:
        tool = getattr(container, f"{request.job}_end_point")()
    except (SettingsError, LtsError, OSError) as exc:
        _critical(container, exc)
        return
    tool.execute()


def _critical(container: Container, exc: Exception) -> None:
    container.console().print(f"Critical failure: {one_line(str(exc))}")
    container.exit().exit(1)
