"""Several private keys at once: load each, and decrypt with the one a message names (SPEC 14).

The restore config's `private-key` may hold several secret keys (one armoured export of several,
or several exports one after the other). `load_key_set` splits it into single keys by reading
the OpenPGP packet framing (RFC 9580 section 4: armour, packet headers, a new key at each
Secret-Key or Public-Key packet; no cryptography), and loads each through `GpgDecryptor.load` in
a keyring of its own, with its own passphrase. `GpgKeySet.decrypt` reads the recipients a
message names in its leading Public-Key Encrypted Session Key packets (long key ids, or
fingerprints in version 6) and hands the stream to the key that is one of them; a file
encrypted to none of the keys gets one clear error instead of gpg's "No secret key". One key
is loaded exactly as before (no splitting, no wrapper). Tested against the real gpg in
tests/integration/test_several_private_keys.py and tests/contract/test_decryptor.py.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence

from pydantic import SecretStr

from adapters.process import close_source
from domain.models.restore_config import KeyPassphrases
from ports.decryptor import DecryptionKeys, KeyInfo
from ports.errors import DecryptionError

logger = logging.getLogger("lts.gpg")

KEY_PACKETS = frozenset({5, 6})
"""Secret-Key and Public-Key packets: each begins a transferable key."""
PKESK, SKESK, MARKER = 1, 3, 10
HEAD_LIMIT = 64 * 1024
"""Recipient packets are a few hundred bytes each; past this the message names no more."""
V4_FINGERPRINT_DIGITS = 40
WILDCARD = "0" * 16
"""The key id of a hidden recipient (`gpg --throw-keyids`)."""
_ARMOUR = re.compile(
    rb"-----BEGIN PGP (?:PRIVATE|PUBLIC) KEY BLOCK-----\r?\n(.*?)-----END PGP [A-Z ]+-----",
    re.DOTALL,
)
_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


class _TruncatedError(ValueError):
    """The data ends inside a packet."""


def split_keys(data: bytes) -> list[bytes]:
    """Return the transferable keys in `data` (armoured or binary), each as binary packets.

    Data that is not OpenPGP packet framing this parser understands is returned whole, as one
    key: gpg itself then judges it (and refuses it with its own words).
    """
    binary = _binary(data)
    if binary is None:
        return [data]
    starts: list[int] = []
    try:
        for tag, start, _, _ in _packets(binary):
            if tag in KEY_PACKETS:
                starts.append(start)
    except ValueError:
        return [data]
    if len(starts) <= 1 or starts[0] != 0:
        return [data]
    bounds = [*starts, len(binary)]
    return [binary[bounds[i] : bounds[i + 1]] for i in range(len(starts))]


def recipient_key_ids(head: bytes, *, complete: bool = False) -> list[str] | None:
    """Return the recipients named at the start of an OpenPGP message, or None to read more.

    Long key ids (16 hex digits) from version 3 packets, fingerprints from version 6 ones,
    upper-case; WILDCARD for a hidden recipient. The list ends at the first packet that is not
    a session key (or marker) packet. With `complete` (the message has no more bytes), what
    was found so far is the answer.
    """
    found: list[str] = []
    index = 0
    try:
        while index < len(head):
            tag, header, length = _header(head, index)
            if tag not in (PKESK, SKESK, MARKER):
                return found
            end = index + header + length
            _need(head, end)
            if tag == PKESK:
                found.append(_recipient(head[index + header : end]))
            index = end
    except _TruncatedError:
        return found if complete else None
    except ValueError:
        return found
    return found if complete else None


def names_key(recipient: str, fingerprint: str) -> bool:
    """Tell whether a recipient (long key id or fingerprint) names the key `fingerprint`."""
    fingerprint = fingerprint.upper()
    if recipient == fingerprint:
        return True
    # A version 4 key's id is its fingerprint's end, a version 6 key's its beginning.
    if len(recipient) != len(WILDCARD):
        return False
    if len(fingerprint) == V4_FINGERPRINT_DIGITS:
        return fingerprint.endswith(recipient)
    return fingerprint.startswith(recipient)


def load_key_set(
    private_keys: bytes,
    passphrases: KeyPassphrases,
    load: Callable[[bytes, SecretStr], DecryptionKeys],
) -> DecryptionKeys:
    """Load every key in `private_keys` with its passphrase; one key is returned as it is.

    Raises:
        DecryptionError: a key does not load (its place and fingerprint in the message), or
            the passphrases do not fit the keys; the keys already loaded are closed again.
    """
    parts = split_keys(private_keys)
    try:
        each = passphrases.for_keys(len(parts))
    except ValueError as exc:
        raise DecryptionError(str(exc)) from None
    if len(parts) == 1:
        return load(private_keys, each[0])
    loaded: list[DecryptionKeys] = []
    try:
        for index, (part, passphrase) in enumerate(zip(parts, each, strict=True), start=1):
            try:
                loaded.append(load(part, passphrase))
            except DecryptionError as exc:
                raise DecryptionError(f"the {_ordinal(index)} key in private-key: {exc}") from None
    except BaseException:
        for keys in loaded:
            keys.close()
        raise
    return GpgKeySet(loaded)


class GpgKeySet(DecryptionKeys):
    """Several loaded private keys: each stream is decrypted by the key it is encrypted to."""

    def __init__(self, keys: Sequence[DecryptionKeys]) -> None:
        self._keys = tuple(keys)

    @property
    def info(self) -> KeyInfo:
        """Return the first key's fingerprint and user ids."""
        return self._keys[0].info

    @property
    def infos(self) -> tuple[KeyInfo, ...]:
        """Return every loaded key's fingerprint and user ids, in the config's order."""
        return tuple(keys.info for keys in self._keys)

    def decrypt(self, cipher: Iterable[bytes]) -> _ChosenKeyStream:
        """Return the plaintext stream of `cipher`, decrypted by the key it names."""
        return _ChosenKeyStream(cipher, self._choose)

    def close(self) -> None:
        """Close every key; safe to call twice."""
        for keys in self._keys:
            keys.close()

    def _choose(self, recipients: list[str]) -> DecryptionKeys:
        for recipient in recipients:
            for keys in self._keys:
                if any(names_key(recipient, key_id) for key_id in keys.info.key_ids):
                    logger.info("decrypting with key %s", keys.info.fingerprint)
                    return keys
        if WILDCARD in recipients:
            # Hidden recipients name no key; gpg would try each, a stream can be read once.
            return self._keys[0]
        held = ", ".join(keys.info.fingerprint for keys in self._keys)
        named = ", ".join(recipients) or "no key"
        raise DecryptionError(
            f"the file is encrypted to {named}, and private-key holds none of them "
            f"(it holds {held})"
        )


class _ChosenKeyStream:
    """A ByteStream: reads the message's recipients, then the chosen key's plaintext."""

    def __init__(
        self, cipher: Iterable[bytes], choose: Callable[[list[str]], DecryptionKeys]
    ) -> None:
        self._cipher = cipher
        self._choose = choose
        self._inner: Iterator[bytes] | None = None
        self._chunks: Generator[bytes, None, None] | None = None

    def __iter__(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._chunks = self._generate()
        return self._chunks

    def close(self) -> None:
        """Stop the decryption (or never start it) and close the cipher stream."""
        if self._chunks is not None:
            self._chunks.close()
        inner = self._inner
        if inner is not None:
            close_source(inner)
        close_source(self._cipher)

    def _generate(self) -> Generator[bytes, None, None]:
        source = iter(self._cipher)
        head = b""
        recipients: list[str] | None = None
        for chunk in source:
            head += chunk
            recipients = recipient_key_ids(head)
            if recipients is not None or len(head) > HEAD_LIMIT:
                break
        if recipients is None:
            recipients = recipient_key_ids(head, complete=True) or []
        keys = self._choose(recipients)
        self._inner = iter(keys.decrypt(_rejoined(head, source)))
        yield from self._inner


def _rejoined(head: bytes, rest: Iterator[bytes]) -> Generator[bytes, None, None]:
    try:
        if head:
            yield head
        yield from rest
    finally:
        close_source(rest)


def _binary(data: bytes) -> bytes | None:
    stripped = data.lstrip()
    if stripped.startswith(b"-----BEGIN "):
        blocks = _ARMOUR.findall(stripped)
        try:
            return b"".join(_dearmour(block) for block in blocks) if blocks else None
        except (binascii.Error, ValueError):
            return None
    return data if data and data[0] & 0x80 else None


def _dearmour(block: bytes) -> bytes:
    lines = block.replace(b"\r", b"").split(b"\n")
    if b"" in lines:
        # Armour headers (`Comment: ...`) end at the first empty line.
        lines = lines[lines.index(b"") + 1 :]
    body = [line.strip() for line in lines if line.strip() and not _is_checksum(line.strip())]
    return base64.b64decode(b"".join(body), validate=True)


def _is_checksum(line: bytes) -> bool:
    return line.startswith(b"=") and len(line) == 5


def _packets(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """Yield (tag, start, body start, end) of each packet; raise ValueError on bad framing."""
    index = 0
    while index < len(data):
        tag, header, length = _header(data, index)
        end = index + header + length
        _need(data, end)
        yield tag, index, index + header, end
        index = end


def _header(data: bytes, index: int) -> tuple[int, int, int]:
    """Return (tag, header length, body length) of the packet at `index`."""
    ctb = data[index]
    if not ctb & 0x80:
        raise ValueError("not a packet header")
    if ctb & 0x40:
        length, header = _new_length(data, index + 1)
        return ctb & 0x3F, header, length
    size = {0: 1, 1: 2, 2: 4}.get(ctb & 0x03)
    if size is None:
        raise ValueError("indeterminate packet length")
    _need(data, index + 1 + size)
    return (ctb >> 2) & 0x0F, 1 + size, int.from_bytes(data[index + 1 : index + 1 + size], "big")


def _new_length(data: bytes, at: int) -> tuple[int, int]:
    _need(data, at + 1)
    first = data[at]
    if first < 192:
        return first, 2
    if first < 224:
        _need(data, at + 2)
        return ((first - 192) << 8) + data[at + 1] + 192, 3
    if first == 255:
        _need(data, at + 5)
        return int.from_bytes(data[at + 1 : at + 5], "big"), 6
    raise ValueError("partial body length")


def _need(data: bytes, end: int) -> None:
    if len(data) < end:
        raise _TruncatedError("the data ends inside a packet")


def _recipient(body: bytes) -> str:
    version = body[0] if body else 0
    if version == 3 and len(body) >= 9:
        return body[1:9].hex().upper()
    if version == 6 and len(body) >= 2:
        size = body[1]
        # A zero size is an anonymous recipient; else a key version byte and the fingerprint.
        return body[3 : 2 + size].hex().upper() if size > 1 else WILDCARD
    return WILDCARD


def _ordinal(index: int) -> str:
    return _ORDINALS.get(index, f"{index}th")
