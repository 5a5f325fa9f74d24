"""Keys, the cv1 value format and :class:`Secret` (docs/FORMAT.md).

The rules are those of the credvault C++ tool: a key is ``base64:<standard base64 of exactly
32 bytes>`` or any UTF-8 string of at least 32 bytes; one trailing ``\\n`` or ``\\r\\n`` is not
part of it; key files must not be accessible by group or other.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import stat
from typing import Collection, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from nacl.bindings import (crypto_aead_xchacha20poly1305_ietf_decrypt,
                           crypto_aead_xchacha20poly1305_ietf_encrypt)
from nacl.exceptions import CryptoError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import (AuthFailed, BadAlgorithm, BadBase64, BadKey, BadKid, BadStructure, BadVersion, Base64Padding,
                     DuplicateKid, InsecureKeyFile, InvalidKey, KeyCommandFailed, MalformedCiphertext, NoKey,
                     NotCiphertext, NotEnvelope, RetiredKid, TooShort, UnknownKid, UsageError, WeakKey)

__all__ = ["Secret", "Keyring", "ciphertext_length", "max_plaintext_length", "is_ciphertext", "CLIENT_ID_INDEX_LENGTH",
           "client_id_index_kid"]

KeyText = Union[str, bytes]
PlaintextLike = Union[str, bytes, "Secret"]

_SALT = b"credvault.v1"
_MIN_KEY_BYTES = 32
_MAX_KEY_FILE_SIZE = 64 * 1024
_NONCE = {"x": 24, "g": 12}
_TAG = 16
_HEADER_LENGTH = 15  # "cv1:x:" + 8 + ":"
_PAYLOAD_RE = re.compile(r"[A-Za-z0-9_-]*\Z")
_KID_RE = re.compile(r"[0-9a-f]{8}\Z")
_VERSION_RE = re.compile(r"cv[0-9]+:")
# The blind index of credentials.client_id (docs/FORMAT.md, "Blind index of client_id").
_INDEX_INFO = b"credvault blind index credentials.client_id"
_INDEX_BYTES = 16
CLIENT_ID_INDEX_LENGTH = 31
"""Every index value is this long: 8 hex kid, ``:``, 22 base64url characters."""
_INDEX_RE = re.compile(r"([0-9a-f]{8}):[A-Za-z0-9_-]{21}[AQgw]\Z")


def _unsupported_version(value: str) -> bool:
    """True for ``cv<digits>:`` other than ``cv1:``: a format version credvault does not know."""
    return not value.startswith("cv1:") and _VERSION_RE.match(value) is not None


def is_plaintext(value: str) -> bool:
    """True when ``value`` is neither ``cv1:`` (valid or damaged) nor ``cv<digits>:`` of another format
    version: what ``credvault encrypt`` would encrypt, and what a reader refuses as not encrypted yet."""
    return _VERSION_RE.match(value) is None


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_INDEX = {c: i for i, c in enumerate(_B64URL)}


class Secret:
    """A secret value. ``repr``/``str`` never show it; :meth:`reveal` does."""

    __slots__ = ("_value",)

    def __init__(self, value: Union[bytes, str]) -> None:
        self._value = value.encode("utf-8") if isinstance(value, str) else bytes(value)

    def reveal(self) -> str:
        """The value as text (UTF-8)."""
        return self._value.decode("utf-8")

    def reveal_bytes(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "Secret('…')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value, other._value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("credvault.Secret", hashlib.sha256(self._value).digest()))

    def __reduce__(self) -> Tuple[object, ...]:
        raise TypeError("a credvault Secret is not picklable")


def _hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(_SALT, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def _parse_key_material(text: KeyText, source: str) -> bytes:
    """Key text → input keying material, exactly as the C++ ParseKeyMaterial."""
    raw = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.startswith(b"base64:"):
        encoded = raw[len(b"base64:"):]
        try:
            ikm = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadKey(f"{source}: key starts with base64: but the rest is not standard base64") from None
        # libsodium refuses non-canonical encodings (wrong padding, stray bits).
        if base64.b64encode(ikm) != encoded:
            raise BadKey(f"{source}: key starts with base64: but the rest is not standard base64")
        if len(ikm) != _MIN_KEY_BYTES:
            raise WeakKey(f"{source}: a base64: key must decode to exactly 32 bytes; this one has {len(ikm)} "
                          "(create one with `credvault keygen`)")
        return ikm
    if len(raw) < _MIN_KEY_BYTES:
        raise WeakKey(f"{source}: key is too short: {len(raw)} bytes, at least 32 required "
                      "(create one with `credvault keygen`)")
    try:
        raw.decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise BadKey(f"{source}: key is not valid UTF-8") from None
    return raw


EXEC_TIMEOUT_SECONDS = 10
# The environment an exec: helper sees (docs/RUNBOOK.md, "exec:"), as in the C++ tool: what a shell and
# the secrets managers' CLIs need; never DATABASE_URL, PG* variables, SECRET_KEY* or the PKCS#11 PIN.
_PASSED_TO_COMMANDS = frozenset(n.encode("ascii") for n in (
    "PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME", "TERM", "GNUPGHOME", "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy",
    "https_proxy", "no_proxy"))
_PASSED_PREFIXES = (b"LC_", b"CREDVAULT_KEY_", b"AWS_", b"VAULT_", b"SOPS_", b"OP_")


def _command_environment() -> Dict[bytes, bytes]:
    return {k: v for k, v in os.environb.items() if k in _PASSED_TO_COMMANDS or k.startswith(_PASSED_PREFIXES)}


def _run_key_command(command: bytes, source: str) -> bytes:
    """Runs ``/bin/sh -c command`` in its own process group with a hard deadline: past it the whole group
    is killed, whether or not the helper closed its pipes."""
    import signal
    import subprocess

    process = subprocess.Popen([b"/bin/sh", b"-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=_command_environment(), start_new_session=True)
    try:
        stdout, stderr_bytes = process.communicate(timeout=EXEC_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        # The shell is not reaped yet (communicate reaps only once it ended), so its group id is still its own.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            _, stderr_bytes = process.communicate(timeout=1)
        except subprocess.TimeoutExpired:  # a process that left the group still holds the pipes
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
            process.wait()
            stderr_bytes = b""
        stderr = (stderr_bytes or b"")[:1000].decode("ascii", "replace")
        raise KeyCommandFailed(f"{source}: exec: key command did not finish within {EXEC_TIMEOUT_SECONDS} s "
                               f"(killed); stderr: {stderr.strip()}") from None
    stderr = stderr_bytes[:1000].decode("ascii", "replace").strip()
    if process.returncode != 0:
        raise KeyCommandFailed(f"{source}: exec: key command exited with status {process.returncode}; "
                               f"stderr: {stderr}")
    return stdout


def resolve_key_source(text: bytes, source: str) -> bytes:
    """Key text for a key source, as the C++ tool resolves it: ``exec:COMMAND`` (stdout of
    ``/bin/sh -c COMMAND``, one trailing newline trimmed, 10 s deadline after which its process group is
    killed, run with the allowlisted environment only: no DATABASE_URL, PG*, SECRET_KEY* or PKCS#11 PIN;
    a failure quotes its stderr, never its stdout) and ``file:PATH`` (a 0600 key file owned by this user
    or root). ``wrapped:PATH`` needs the HSM: open the vault through the C ABI (``credvault_open``
    accepts it; the KEK's URI then carries module-path and pin-source). Anything else is the key itself."""
    if text.startswith(b"file:"):
        return read_key_file(os.fsdecode(text[5:].rstrip(b"\r\n")))
    if text.startswith(b"wrapped:"):
        raise InvalidKey(f"{source}: wrapped: keys are unwrapped by an HSM, which this package does not drive; use "
                         "the C ABI (credvault_open) or unwrap with python3-pykcs11")
    if not text.startswith(b"exec:"):
        return text
    command = text[5:].rstrip(b"\r\n")
    if not command:
        raise InvalidKey(f"{source}: key source exec: names nothing (exec:COMMAND)")
    key = _run_key_command(command, source)
    if key.endswith(b"\n"):
        key = key[:-1]
    if key.endswith(b"\r"):
        key = key[:-1]
    if not key:
        raise KeyCommandFailed(f"{source}: exec: key command printed nothing on stdout")
    return key


def read_key_file(path: Union[str, "os.PathLike[str]"]) -> bytes:
    """A key file's content, refused as the C++ tool refuses it (not a regular file — a FIFO is refused
    without blocking —, owned by another user than this one or root, mode & 077, > 64 KiB). A symlink is
    followed: the file it leads to is checked."""
    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise InvalidKey(f"key file {path} does not exist") from None
    except OSError as e:
        raise InvalidKey(f"cannot read key file {path}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidKey(f"key file {path} is not a regular file")
        euid = os.geteuid()
        if st.st_uid not in (euid, 0):
            raise InsecureKeyFile(f"key file {path} is owned by uid {st.st_uid}, not by this user (uid {euid}) or "
                                  f"root: another user could have written it; run: chown {euid} {path}")
        if st.st_mode & 0o077:
            raise InsecureKeyFile(f"key file {path} is accessible by group or other (mode "
                                  f"{stat.S_IMODE(st.st_mode) & 0o777:03o}); run: chmod 600 {path}")
        if st.st_size > _MAX_KEY_FILE_SIZE:
            raise InvalidKey(f"key file {path} is too large to be a key")
        chunks: List[bytes] = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class _RingKey:
    __slots__ = ("kid", "source", "primary", "aead_g", "key_x", "index_key")

    def __init__(self, ikm: bytes, source: str, primary: bool) -> None:
        self.kid = _hkdf_sha256(ikm, b"credvault kid", 4).hex()
        self.source = source
        self.primary = primary
        self.key_x = _hkdf_sha256(ikm, b"credvault aead x", 32)
        self.aead_g = AESGCM(_hkdf_sha256(ikm, b"credvault aead g", 32))
        self.index_key = _hkdf_sha256(ikm, _INDEX_INFO, 32)

    def client_id_index(self, client_id: bytes) -> str:
        mac = hmac.new(self.index_key, client_id, hashlib.sha256).digest()[:_INDEX_BYTES]
        return f"{self.kid}:" + base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def __repr__(self) -> str:
        return f"<key {self.kid} from {self.source}{' (primary)' if self.primary else ''}>"


def ciphertext_length(plaintext_bytes: int, alg: str = "x") -> int:
    """Characters of the cv1 value of an n-byte plaintext."""
    raw = _NONCE[alg] + _TAG + plaintext_bytes
    return _HEADER_LENGTH + (4 * raw + 2) // 3


def max_plaintext_length(column_chars: int, alg: str = "x") -> int:
    if ciphertext_length(0, alg) > column_chars:
        return 0
    n = column_chars
    while ciphertext_length(n, alg) > column_chars:
        n -= 1
    return n


def is_ciphertext(value: str) -> bool:
    """True when ``value`` parses strictly as a cv1 value."""
    try:
        _parse(value)
        return True
    except (NotCiphertext, MalformedCiphertext):
        return False


class _Envelope(NamedTuple):
    alg: str
    kid: str
    header: str  # "cv1:<alg>:<kid>:", the trailing colon included
    raw: bytes  # the decoded payload: nonce ‖ ciphertext ‖ tag


def _parse(value: str) -> _Envelope:
    """cv1 value → its fields, strictly as docs/FORMAT.md, with the C++ ParseEnvelope's reasons in its
    order. The one reader of the header: nothing else takes a value apart."""
    if not isinstance(value, str):
        raise NotEnvelope("value is not text")
    if _unsupported_version(value):
        # Never plaintext: encrypting it would turn a planted value into authenticated ciphertext.
        raise BadVersion("credvault value of an unsupported format version (only cv1 is known)")
    if not value.startswith("cv1:"):
        raise NotEnvelope("value is not credvault ciphertext (no cv1: prefix)")
    fields = value.split(":")
    if len(fields) != 4:
        raise BadStructure("malformed credvault value: expected exactly 4 ':'-separated fields")
    _, alg, kid, payload = fields
    if alg != "x" and alg != "g":
        raise BadAlgorithm("malformed credvault value: unknown algorithm")
    if not _KID_RE.match(kid):
        raise BadKid("malformed credvault value: kid must be 8 lowercase hex characters")
    if not _PAYLOAD_RE.match(payload):
        if next(c for c in payload if c not in _B64URL_INDEX) == "=":
            raise Base64Padding("malformed credvault value: payload has base64 padding ('='), which v1 forbids")
        raise BadBase64("malformed credvault value: payload is not base64url")
    tail = len(payload) % 4
    if tail == 1 or (tail == 2 and _B64URL_INDEX[payload[-1]] & 0x0F) or (
            tail == 3 and _B64URL_INDEX[payload[-1]] & 0x03):
        raise BadBase64("malformed credvault value: payload is not canonical base64url")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if len(raw) < _NONCE[alg] + _TAG:
        raise TooShort("malformed credvault value: payload shorter than nonce and tag")
    return _Envelope(alg, kid, value[:_HEADER_LENGTH], raw)


def client_id_index_kid(index: str) -> str:
    """The kid a ``client_id_bidx`` value names, or ``""`` when the value is not of its form (8 lowercase hex,
    ``:``, 22 canonical base64url characters)."""
    match = _INDEX_RE.match(index) if isinstance(index, str) else None
    return match.group(1) if match else ""


def plaintext_bytes(plaintext: PlaintextLike, what: str) -> bytes:
    """str (as UTF-8), bytes or Secret → its bytes; anything else is a UsageError naming ``what``."""
    if isinstance(plaintext, Secret):
        return plaintext.reveal_bytes()
    if isinstance(plaintext, str):
        return plaintext.encode("utf-8")
    if isinstance(plaintext, (bytes, bytearray, memoryview)):
        return bytes(plaintext)
    raise UsageError(f"{what} must be str, bytes or Secret")


def _location(table: str, column: str, account_id: int) -> bytes:
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise UsageError("account_id must be an int")
    return f"{table}\0{column}\0{account_id}".encode("utf-8")


class Keyring:
    """A primary key (encrypts and decrypts) and fallback keys (decrypt only), by kid.

    Built with :meth:`from_env`, :meth:`from_files` or ``Keyring(primary_text, [fallback_text...])``.
    Holds derived AEAD keys only; ``repr`` shows kids and sources, never key bytes.
    """

    def __init__(self, primary: KeyText, fallbacks: Iterable[KeyText] = (), *, alg: str = "x",
                 _sources: Optional[Sequence[str]] = None) -> None:
        if alg not in _NONCE:
            raise UsageError("alg must be 'x' (XChaCha20-Poly1305) or 'g' (AES-256-GCM)")
        texts = [primary, *fallbacks]
        sources = list(_sources) if _sources is not None else (
            ["primary key"] + [f"fallback key {i + 1}" for i in range(len(texts) - 1)])
        self._alg = alg
        self._keys: Dict[str, _RingKey] = {}
        self._primary: Optional[_RingKey] = None
        for index, (text, source) in enumerate(zip(texts, sources)):
            key = _RingKey(_parse_key_material(text, source), source, index == 0)
            twin = self._keys.get(key.kid)
            if twin is not None:
                raise DuplicateKid(f"{key.source} and {twin.source} are the same key (kid {key.kid})")
            self._keys[key.kid] = key
            if index == 0:
                self._primary = key

    @classmethod
    def from_env(cls, environ: Union[Mapping[str, str], Mapping[bytes, bytes], None] = None, *,
                 alg: str = "x") -> "Keyring":
        """SECRET_KEY (primary) and SECRET_KEY_FALLBACKS (comma-separated), as the C++ tool reads them.

        ``environ``: a mapping of bytes (like ``os.environb``, the default) or of str (like ``os.environ``)."""
        if environ is None:
            env: Dict[bytes, bytes] = dict(os.environb)
        else:
            env = {(k.encode("utf-8", "surrogateescape") if isinstance(k, str) else k):
                   (v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v)
                   for k, v in environ.items() if k in ("SECRET_KEY", "SECRET_KEY_FALLBACKS",
                                                        b"SECRET_KEY", b"SECRET_KEY_FALLBACKS")}
        primary = env.get(b"SECRET_KEY")
        if not primary:
            raise NoKey("no encryption key configured: set SECRET_KEY (create a key with `credvault keygen`)")
        sources = ["environment variable SECRET_KEY"]
        fallbacks: List[bytes] = []
        joined = env.get(b"SECRET_KEY_FALLBACKS")
        if joined:
            fallbacks = joined.split(b",")
            sources += [f"SECRET_KEY_FALLBACKS entry {i + 1}" for i in range(len(fallbacks))]
        # Key sources (exec:, file:) are resolved here, once.
        primary = resolve_key_source(primary, sources[0])
        fallbacks = [resolve_key_source(text, source) for text, source in zip(fallbacks, sources[1:])]
        return cls(primary, fallbacks, alg=alg, _sources=sources)

    @classmethod
    def from_files(cls, primary: Union[str, "os.PathLike[str]"],
                   fallbacks: Iterable[Union[str, "os.PathLike[str]"]] = (), *, alg: str = "x") -> "Keyring":
        """Key files (mode 0600, as written by ``credvault keygen --out``)."""
        paths = [os.fspath(primary), *(os.fspath(p) for p in fallbacks)]
        texts = [read_key_file(p) for p in paths]
        return cls(texts[0], texts[1:], alg=alg, _sources=[f"key file {p}" for p in paths])

    @property
    def primary_kid(self) -> str:
        assert self._primary is not None
        return self._primary.kid

    @property
    def kids(self) -> List[str]:
        """Kids, primary first."""
        return list(self._keys)

    @property
    def alg(self) -> str:
        return self._alg

    def __repr__(self) -> str:
        return f"Keyring(primary={self.primary_kid!r}, fallbacks={self.kids[1:]!r}, alg={self._alg!r})"

    __str__ = __repr__

    def __reduce__(self) -> Tuple[object, ...]:
        raise TypeError("a credvault Keyring is not picklable")

    def encrypt(self, plaintext: PlaintextLike, *, column: str, account_id: int, table: str = "credentials",
                alg: Optional[str] = None) -> str:
        """Encrypt under the primary key for the location (table, column, account_id) → ``cv1:…``."""
        alg = self._alg if alg is None else alg
        if alg not in _NONCE:
            raise UsageError("alg must be 'x' (XChaCha20-Poly1305) or 'g' (AES-256-GCM)")
        data = plaintext_bytes(plaintext, "plaintext")
        key = self._primary
        assert key is not None
        header = f"cv1:{alg}:{key.kid}:"
        aad = header.encode("ascii") + _location(table, column, account_id)
        nonce = os.urandom(_NONCE[alg])
        if alg == "x":
            sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(data, aad, nonce, key.key_x)
        else:
            sealed = key.aead_g.encrypt(nonce, data, aad)
        return header + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    def client_id_index(self, client_id: PlaintextLike, kid: str) -> str:
        """The blind index (``credentials.client_id_bidx``) of ``client_id`` under the ring key ``kid``:
        ``"<kid>:<base64url of HMAC-SHA256(index key, client_id)[0:16]>"`` (docs/FORMAT.md). ``client_id``
        is taken byte for byte (str as UTF-8), never normalized. Raises UnknownKid when ``kid`` is not in
        the ring."""
        key = self._keys.get(kid)
        if key is None:
            raise UnknownKid(f"key {kid} is not in the keyring", kid)
        return key.client_id_index(plaintext_bytes(client_id, "client_id"))

    def primary_client_id_index(self, client_id: PlaintextLike) -> str:
        """The index under the primary key: what ``put_credentials`` writes beside a client_id it encrypts."""
        key = self._primary
        assert key is not None
        return key.client_id_index(plaintext_bytes(client_id, "client_id"))

    def client_id_index_under_every_key(self, client_id: PlaintextLike) -> List[str]:
        """The index under every key of the ring, primary first: what a lookup matches, so that it finds
        rows not re-encrypted under the primary key yet."""
        data = plaintext_bytes(client_id, "client_id")
        return [key.client_id_index(data) for key in self._keys.values()]

    def decrypt(self, value: str, *, column: str, account_id: int, table: str = "credentials",
                retired: Collection[str] = ()) -> Secret:
        """Decrypt a ``cv1:`` value written for this location → :class:`Secret`.

        ``retired``: kids retired with ``credvault keys retire``; a value under one of them raises
        RetiredKid even when that key is in the ring. Raises NotCiphertext, MalformedCiphertext /
        IntegrityError (RetiredKid), UnknownKid."""
        alg, kid, header, raw = _parse(value)
        if kid in retired:
            raise RetiredKid.of_value(f"{table}.{column} of account {account_id}", kid)
        key = self._keys.get(kid)
        if key is None:
            raise UnknownKid(f"value is under key {kid}, which is not in the keyring", kid)
        aad = header.encode("ascii") + _location(table, column, account_id)
        n = _NONCE[alg]
        try:
            if alg == "x":
                return Secret(crypto_aead_xchacha20poly1305_ietf_decrypt(raw[n:], aad, raw[:n], key.key_x))
            return Secret(key.aead_g.decrypt(raw[:n], raw[n:], aad))
        except (CryptoError, InvalidTag):
            raise AuthFailed(f"{table}.{column} of account {account_id}: value does not decrypt (tampered, "
                             "truncated, moved from another column or account, or its header edited)") from None
