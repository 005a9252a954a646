"""The one dependency-injector container: it builds adapters, machines and end points.

It only builds things (no `if`, no `try`): choices go through `providers.Selector` keyed by the
config source's URL scheme, and shares are chosen by `storage-unc` scheme inside the opener.
Nothing happens at import time. Tests override providers on an instance.
"""

from __future__ import annotations

import argparse

from dependency_injector import containers, providers

from adapters.azure.key_vault import KeyVaultConfigSource
from adapters.cifs.factory import CifsShareFactory
from adapters.fernet.cipher import FernetSecretCipher
from adapters.files.opener import SchemeShareOpener, local_share_from_target
from adapters.files.toml_config import TomlFileConfigSource
from adapters.files.toml_writer import TomlFileConfigWriter
from adapters.gpg.decryptor import GpgDecryptor
from adapters.gpg.encryptor import GpgEncryptor
from adapters.gpg.keygen import GpgKeyGenerator
from adapters.os.clock import SystemClock
from adapters.os.console import StdoutConsole
from adapters.os.exit import ProcessExit
from adapters.os.local_files import PrivateLocalFiles
from adapters.os.lock import FlockLock
from adapters.os.logging import client_logging
from adapters.os.task_runner import ThreadPoolTaskRunner
from adapters.postgres.credentials import (
    CredentialsByAuth,
    EntraTokenCredentials,
    PasswordCredentials,
)
from adapters.postgres.database import PostgresDatabase
from adapters.postgres.dumper import PgDumper
from adapters.postgres.restorer import PgRestorer
from domain.machines.archive import ArchiveFileMachine
from domain.machines.backup import BackupClientMachine, BackupPorts
from domain.machines.check import CheckClientMachine, CheckPorts
from domain.machines.create_client import CreateClientMachine, OnboardingPorts
from domain.machines.decrypt import DecryptDumpMachine
from domain.machines.listing import ListRunsMachine
from domain.machines.mount import DynamicMountingEndPoint, MountShareMachine
from domain.machines.releasing import ReleasingEndPoint
from domain.machines.restore import RestoreDatabaseMachine, RestorePorts
from domain.machines.retention import RetentionOptions, RetentionPorts
from domain.machines.retention_job import RetentionClientMachine
from domain.machines.verify import VerifyRunsMachine
from domain.models.operations import CheckPolicy
from domain.models.policy import BackupPolicy
from domain.models.redaction import Redactor
from entrypoints.operations_requests import archive_request, probe_name
from entrypoints.process import (
    azure_transport,
    choose,
    hours,
    path_text,
    process_owner,
    scheme_of,
    tool_version,
)
from entrypoints.requests import decrypt_request, restore_request, restore_scheme, verify_request
from entrypoints.settings import load_settings


class Container(containers.DeclarativeContainer):
    """Wires one job run: `Container(args=namespace, job="backup")`."""

    # ---------------------------------------------------------------- settings and arguments
    args: providers.Dependency[argparse.Namespace] = providers.Dependency()
    job = providers.Dependency(instance_of=str)
    settings = providers.Singleton(load_settings)
    redactor = providers.Singleton(Redactor)
    tenant_id = providers.Callable(
        choose, args.provided.tenant_id, settings.provided.azure.tenant_id
    )
    authority_host = providers.Callable(
        choose, args.provided.authority_host, settings.provided.azure.authority_host
    )

    # ---------------------------------------------------------------- process plumbing
    logging = providers.Resource(
        client_logging,
        log_root=settings.provided.paths.log_root,
        client=args.provided.client_name,
        job=job,
        level=settings.provided.logging.level,
        backup_count=settings.provided.logging.backup_count,
        json=settings.provided.logging.json_lines,
        redactor=redactor,
    )

    # ---------------------------------------------------------------- OS adapters
    console = providers.Singleton(StdoutConsole)
    exit = providers.Singleton(ProcessExit)
    clock = providers.Singleton(SystemClock)
    cipher = providers.Singleton(FernetSecretCipher, key_file=settings.provided.secrets.key_file)
    lock = providers.Factory(FlockLock, lock_root=settings.provided.paths.lock_root, clock=clock)

    # ---------------------------------------------------------------- config sources
    config_source = providers.Selector(
        providers.Callable(scheme_of, args.provided.key_vault),
        file=providers.Factory(TomlFileConfigSource, url=args.provided.key_vault),
        https=providers.Factory(
            KeyVaultConfigSource,
            vault_url=args.provided.key_vault,
            tenant_id=tenant_id,
            client_id=args.provided.client_id,
            client_secret_token=args.provided.client_secret,
            cipher=cipher,
            redactor=redactor,
            authority_host=authority_host,
            disable_instance_discovery=settings.provided.azure.disable_instance_discovery,
            connection_timeout=settings.provided.azure.connection_timeout,
            read_timeout=settings.provided.azure.read_timeout,
            retries=settings.provided.azure.retries,
            connection_verify=providers.Callable(path_text, settings.provided.azure.ca_file),
        ),
    )

    # ---------------------------------------------------------------- shares
    share_opener = providers.Singleton(
        SchemeShareOpener,
        openers=providers.Dict(
            file=providers.Object(local_share_from_target),
            cifs=providers.Singleton(
                CifsShareFactory,
                driver=settings.provided.share.cifs_driver,
                mount_root=settings.provided.paths.mount_root,
                use_sudo=settings.provided.share.use_sudo,
                mount_options=settings.provided.share.mount_options,
                redactor=redactor,
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
                tenant_id=tenant_id,
                authority_host=authority_host,
                disable_instance_discovery=settings.provided.azure.disable_instance_discovery,
                client_options=providers.Callable(
                    azure_transport,
                    settings.provided.azure.ca_file,
                    settings.provided.azure.connection_timeout,
                    settings.provided.azure.read_timeout,
                    settings.provided.azure.retries,
                ),
            ),
        ),
    )
    database = providers.Singleton(PostgresDatabase, credentials=pg_credentials, redactor=redactor)
    dumper = providers.Singleton(
        PgDumper,
        credentials=pg_credentials,
        redactor=redactor,
        pg_bin_dir=settings.provided.backup.pg_bin_dir,
        compression=settings.provided.backup.compression,
    )
    encryptor = providers.Factory(
        GpgEncryptor, work_root=settings.provided.paths.work_root, redactor=redactor
    )
    backup_runner = providers.Singleton(
        ThreadPoolTaskRunner, workers=settings.provided.backup.worker_pool_size
    )
    retention_runner = providers.Singleton(
        ThreadPoolTaskRunner, workers=settings.provided.retention.worker_pool_size
    )

    # ---------------------------------------------------------------- machines
    backup_policy = providers.Factory(
        BackupPolicy,
        eoy_month=args.provided.eoy_month,
        timezone=settings.provided.backup.timezone,
        period_offset_months=settings.provided.backup.period_offset_months,
        exclude_everywhere=providers.Callable(
            frozenset, settings.provided.backup.exclude_everywhere
        ),
        min_dump_bytes=settings.provided.backup.min_dump_bytes,
        shrink_warning_ratio=settings.provided.backup.shrink_warning_ratio,
        share_lock_max_age=providers.Callable(
            hours, settings.provided.backup.share_lock_max_age_hours
        ),
        tool_version=providers.Callable(tool_version),
    )
    backup_ports = providers.Factory(
        BackupPorts,
        database=database,
        dumper=dumper,
        encryptor=encryptor,
        clock=clock,
        runner=backup_runner,
        retention_runner=retention_runner,
        console=console,
    )
    retention_options = providers.Factory(
        RetentionOptions,
        minimum_keep=settings.provided.retention.minimum_keep,
        partial_max_age=providers.Callable(
            hours, settings.provided.retention.partial_max_age_hours
        ),
        dry_run=providers.Callable(getattr, args, "dry_run", False),
    )
    backup_machine = providers.Factory(
        BackupClientMachine,
        ports=backup_ports,
        policy=backup_policy,
        lock_owner=providers.Callable(process_owner),
        retention=retention_options,
    )
    # Every job on a client's share runs inside MountShareMachine; jobs add inner and lock.
    client_mount = providers.Factory(
        MountShareMachine,
        client=args.provided.client_name,
        source=config_source,
        opener=share_opener,
        redactor=redactor,
    )
    backup_mount = providers.Factory(client_mount, inner=backup_machine.provider, lock=lock)

    retention_ports = providers.Factory(
        RetentionPorts, clock=clock, runner=retention_runner, console=console
    )
    retention_machine = providers.Factory(
        RetentionClientMachine,
        ports=retention_ports,
        options=retention_options,
        lock_owner=providers.Callable(process_owner),
        share_lock_max_age=providers.Callable(
            hours, settings.provided.backup.share_lock_max_age_hours
        ),
    )
    retention_mount = providers.Factory(client_mount, inner=retention_machine.provider, lock=lock)
    list_machine = providers.Factory(
        ListRunsMachine,
        console=console,
        clock=clock,
        as_json=providers.Callable(getattr, args, "json", False),
    )
    list_mount = providers.Factory(client_mount, inner=list_machine.provider, lock=None)

    # ---------------------------------------------------------------- restore config source
    restore_client_id = providers.Callable(
        choose, args.provided.restore_client_id, args.provided.client_id
    )
    restore_client_secret = providers.Callable(
        choose,
        args.provided.restore_client_secret,
        args.provided.client_secret,
    )
    restore_source = providers.Selector(
        providers.Callable(restore_scheme, args.provided.restore_vault),
        none=providers.Object(None),
        file=providers.Factory(TomlFileConfigSource, url=args.provided.restore_vault),
        https=providers.Factory(
            KeyVaultConfigSource,
            vault_url=args.provided.restore_vault,
            tenant_id=tenant_id,
            client_id=restore_client_id,
            client_secret_token=restore_client_secret,
            cipher=cipher,
            redactor=redactor,
            authority_host=authority_host,
            disable_instance_discovery=settings.provided.azure.disable_instance_discovery,
            connection_timeout=settings.provided.azure.connection_timeout,
            read_timeout=settings.provided.azure.read_timeout,
            retries=settings.provided.azure.retries,
            connection_verify=providers.Callable(path_text, settings.provided.azure.ca_file),
        ),
    )

    # ---------------------------------------------------------------- restore adapters
    decryptor = providers.Factory(
        GpgDecryptor,
        work_root=settings.provided.paths.work_root,
        redactor=redactor,
    )
    restorer = providers.Singleton(
        PgRestorer,
        credentials=pg_credentials,
        redactor=redactor,
        pg_bin_dir=settings.provided.backup.pg_bin_dir,
    )
    local_files = providers.Singleton(
        PrivateLocalFiles, work_root=settings.provided.paths.work_root
    )
    verify_runner = providers.Singleton(
        ThreadPoolTaskRunner, workers=settings.provided.backup.worker_pool_size
    )
    restore_ports = providers.Factory(
        RestorePorts,
        decryptor=decryptor,
        restorer=restorer,
        files=local_files,
        clock=clock,
    )

    # ---------------------------------------------------------------- restore machines
    restore_machine = providers.Factory(
        RestoreDatabaseMachine,
        ports=restore_ports,
        restore_source=restore_source,
        request=providers.Callable(restore_request, args),
        redactor=redactor,
    )
    decrypt_machine = providers.Factory(
        DecryptDumpMachine,
        ports=restore_ports,
        restore_source=restore_source,
        request=providers.Callable(decrypt_request, args),
        redactor=redactor,
    )
    verify_machine = providers.Factory(
        VerifyRunsMachine,
        ports=restore_ports,
        runner=verify_runner,
        request=providers.Callable(verify_request, args),
        redactor=redactor,
        restore_source=restore_source,
    )
    # Read-only jobs on the share: no lock (see docs/restore.md).
    restore_mount = providers.Factory(client_mount, inner=restore_machine.provider, lock=None)
    decrypt_mount = providers.Factory(client_mount, inner=decrypt_machine.provider, lock=None)
    verify_mount = providers.Factory(client_mount, inner=verify_machine.provider, lock=None)

    # ---------------------------------------------------------------- onboarding adapters
    key_generator = providers.Factory(
        GpgKeyGenerator,
        work_root=settings.provided.paths.work_root,
        redactor=redactor,
    )
    backup_config_writer = providers.Selector(
        providers.Callable(scheme_of, args.provided.key_vault),
        file=providers.Factory(TomlFileConfigWriter, url=args.provided.key_vault),
        # KeyVaultConfigSource reads and writes: the same vault, the same service principal.
        https=config_source,
    )
    restore_config_writer = providers.Selector(
        providers.Callable(restore_scheme, args.provided.restore_vault),
        none=providers.Object(None),
        file=providers.Factory(TomlFileConfigWriter, url=args.provided.restore_vault),
        https=restore_source,
    )

    # ---------------------------------------------------------------- check
    check_policy = providers.Factory(
        CheckPolicy,
        exclude_everywhere=providers.Callable(
            frozenset, settings.provided.backup.exclude_everywhere
        ),
        timezone=settings.provided.backup.timezone,
        period_offset_months=settings.provided.backup.period_offset_months,
    )
    check_ports = providers.Factory(
        CheckPorts,
        database=database,
        dumper=dumper,
        encryptor=encryptor,
        decryptor=decryptor,
        clock=clock,
        opener=share_opener,
    )
    check_machine = providers.Factory(
        CheckClientMachine,
        client=args.provided.client_name,
        source=config_source,
        ports=check_ports,
        policy=check_policy,
        redactor=redactor,
        probe_name=providers.Callable(probe_name),
        restore_source=restore_source,
    )

    # ---------------------------------------------------------------- create_client
    onboarding_ports = providers.Factory(
        OnboardingPorts,
        key_generator=key_generator,
        backup_writer=backup_config_writer,
        restore_writer=restore_config_writer,
        opener=share_opener,
    )
    create_client_machine = providers.Factory(
        CreateClientMachine,
        new_client=args.provided.new_client,
        ports=onboarding_ports,
        check=check_machine.provider,
        backup_config_url=args.provided.key_vault,
        redactor=redactor,
    )

    # ---------------------------------------------------------------- archive
    archive_machine = providers.Factory(
        ArchiveFileMachine,
        request=providers.Callable(archive_request, args),
        encryptor=encryptor,
        files=local_files,
        clock=clock,
    )
    # The archive folder is outside the tiers: no lock (docs/operations.md).
    archive_mount = providers.Factory(client_mount, inner=archive_machine.provider, lock=None)

    # ---------------------------------------------------------------- end points
    mounting_end_point = providers.Factory(
        DynamicMountingEndPoint, console=console, exit=exit, redactor=redactor
    )
    releasing_end_point = providers.Factory(
        ReleasingEndPoint, console=console, exit=exit, redactor=redactor
    )
    backup_end_point = providers.Factory(mounting_end_point, machine=backup_mount.provider)
    retention_end_point = providers.Factory(mounting_end_point, machine=retention_mount.provider)
    list_end_point = providers.Factory(mounting_end_point, machine=list_mount.provider)
    restore_end_point = providers.Factory(mounting_end_point, machine=restore_mount.provider)
    decrypt_end_point = providers.Factory(mounting_end_point, machine=decrypt_mount.provider)
    verify_end_point = providers.Factory(mounting_end_point, machine=verify_mount.provider)
    check_end_point = providers.Factory(releasing_end_point, machine=check_machine.provider)
    create_client_end_point = providers.Factory(
        releasing_end_point, machine=create_client_machine.provider
    )
    archive_end_point = providers.Factory(mounting_end_point, machine=archive_mount.provider)
