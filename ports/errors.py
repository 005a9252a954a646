"""Every error an adapter raises and the domain may catch, in one place.

Every error here is an expected operational problem: its text is a complete, one-line explanation
that is safe to print (it never holds a secret). The machine framework shows it as it is, where any
other exception becomes "unrecognized exception: ...".
"""


class LtsError(Exception):
    """An expected, explained failure."""


class ConfigError(LtsError):
    """The client or master configuration is missing or invalid."""


class ConfigSourceError(LtsError):
    """The configuration store cannot be read (unreachable vault, bad credentials, no file)."""


class SecretError(LtsError):
    """A secret token cannot be decrypted (wrong key, damaged token) or the key file is bad."""


class LockHeldError(LtsError):
    """Another run holds the client's lock."""


class ShareUnavailableError(LtsError):
    """The share cannot be reached, mounted or written."""


class ShareFullError(ShareUnavailableError):
    """The share has no space left."""


class InvalidManifestError(LtsError):
    """A run's manifest is missing or is not a valid manifest (the share itself answered)."""


class DatabaseError(LtsError):
    """The PostgreSQL server cannot be reached or queried."""


class DumpError(LtsError):
    """pg_dump or pg_dumpall failed, or produced an unusable dump."""


class DumperTooOldError(DumpError):
    """The pg_dump binary is older than the server it must dump."""


class EncryptionError(LtsError):
    """gpg failed to import a key or to encrypt."""


class KeyMismatchError(EncryptionError):
    """The public key does not belong to the configured key name."""


class DecryptionError(LtsError):
    """The private key cannot be loaded or unlocked, or a stream does not decrypt."""


class RestoreError(LtsError):
    """A restore step failed: the target cannot be created or written, or pg_restore failed."""


class ArchiveError(LtsError):
    """An archive cannot be read: `pg_restore --list` or `pg_restore -f -` failed on it."""


class LocalFileError(LtsError):
    """A local file cannot be written or removed, or already exists."""


class KeyGenerationError(LtsError):
    """The key pair cannot be generated or exported."""


class CompressionError(LtsError):
    """The zstd binary is missing or cannot run, or a stored stream does not decompress."""


class MetricsError(LtsError):
    """A job's metrics cannot be stored (the textfile directory is missing or not writable)."""


class ReportError(LtsError):
    """The fleet report cannot be written to its output directory."""


class HoldError(LtsError):
    """A run cannot be put on hold or released (no such run, already held, not held)."""


class SigningError(LtsError):
    """The signing key or a trusted key cannot be loaded, or gpg cannot sign or check."""
