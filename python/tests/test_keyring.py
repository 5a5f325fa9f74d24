"""Keys and the cv1 format, without a database (except where the CLI's kid is compared)."""
from __future__ import annotations

import base64
import json
import os

import pytest

import credvault
from credvault import (InsecureKeyFile, IntegrityError, InvalidKey, Keyring, MalformedCiphertext, NotCiphertext,
                       Secret, UnknownKid)

# docs/FORMAT.md, "Worked example"
EXAMPLE_KEY = "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
EXAMPLE_X = "cv1:x:e2eb3ad8:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXNDqm8OFho03B5lV15LdyzQrn6eoMZn3U1x3rpfaOdUtN"
EXAMPLE_G = "cv1:g:e2eb3ad8:QEFCQ0RFRkdISUpLCeMveBz9GYr6jKO-wJuDo_tald0Kp_NX1CIcEu-3cvMc"
LOC = dict(column="refresh_token", account_id=42)


def test_worked_example_decrypts_and_kid_matches():
    ring = Keyring(EXAMPLE_KEY)
    assert ring.primary_kid == "e2eb3ad8"
    assert ring.decrypt(EXAMPLE_X, **LOC).reveal() == "Atzr|IwEBIExample"
    assert ring.decrypt(EXAMPLE_G, **LOC).reveal() == "Atzr|IwEBIExample"


@pytest.mark.parametrize("alg", ["x", "g"])
def test_round_trip_and_length(alg):
    ring = Keyring(EXAMPLE_KEY)
    for n in (0, 1, 17, 332, 344):
        value = ring.encrypt("a" * n, alg=alg, **LOC)
        assert value.startswith(f"cv1:{alg}:e2eb3ad8:")
        assert len(value) == credvault.ciphertext_length(n, alg)
        assert ring.decrypt(value, **LOC).reveal() == "a" * n
    assert credvault.max_plaintext_length(512, "x") == 332
    assert credvault.max_plaintext_length(512, "g") == 344


def test_bad_values_raise_their_exception_never_a_value():
    ring = Keyring(EXAMPLE_KEY)
    raw = bytearray(base64.urlsafe_b64decode(EXAMPLE_X[15:] + "=="))
    raw[30] ^= 1
    tampered = EXAMPLE_X[:15] + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    # The C++ ParseEnvelope / Keyring::Decrypt reason of each (src/crypto/envelope.cpp, seal.cpp).
    cases = {
        tampered: "auth_failed",
        EXAMPLE_X[:-4]: "auth_failed",                   # truncated, still parses: tag fails
        EXAMPLE_X[:-1]: "bad_base64",                    # truncated by one character: stray trailing bits
        EXAMPLE_X[:-2] + "U": "auth_failed",             # the same length with a canonical tail: tag fails
        EXAMPLE_X[:-3]: "bad_base64",                    # truncated to an impossible length (4k+1)
        EXAMPLE_X[:15 + 52]: "too_short",                # shorter than nonce + tag
        EXAMPLE_X.replace("cv1:x:", "cv1:g:"): "auth_failed",  # header edited
        EXAMPLE_X + "=": "padding",
        EXAMPLE_X[:20] + "=" + EXAMPLE_X[21:]: "padding",
        EXAMPLE_X[:20] + "+" + EXAMPLE_X[21:]: "bad_base64",  # standard base64, not base64url
        EXAMPLE_X.replace("e2eb3ad8", "E2EB3AD8"): "bad_kid",
        EXAMPLE_X.replace("e2eb3ad8", "e2eb3ad"): "bad_kid",
        EXAMPLE_X + ":x": "bad_structure",
        "cv1:z:e2eb3ad8:" + EXAMPLE_X[15:]: "bad_algorithm",
        EXAMPLE_X[:-2] + "V": "bad_base64",              # non-canonical trailing bits ('U' is canonical)
        "cv2:" + EXAMPLE_X[4:]: "bad_version",
        "Atzr|IwEBIExample": "not_envelope",
        "": "not_envelope",
        "amzn1.application-oa2-client.abc": "not_envelope",
        EXAMPLE_X.replace("e2eb3ad8", "00000000"): "unknown_kid",
    }
    for value, reason in cases.items():
        with pytest.raises(credvault.Error) as raised:
            ring.decrypt(value, **LOC)
        assert (raised.value.reason, type(raised.value)) == (reason, credvault.REASONS[reason]), value
    for family, reasons in ((IntegrityError, {"auth_failed"}), (UnknownKid, {"unknown_kid"}),
                            (NotCiphertext, {"not_envelope"}),
                            (MalformedCiphertext, {"bad_base64", "too_short", "padding", "bad_kid", "bad_structure",
                                                   "bad_algorithm", "bad_version"})):
        assert all(issubclass(credvault.REASONS[r], family) for r in reasons)
    # MalformedCiphertext is an IntegrityError; all are credvault.Error.
    assert issubclass(MalformedCiphertext, IntegrityError) and issubclass(UnknownKid, credvault.Error)
    for moved in (dict(column="client_secret", account_id=42), dict(column="refresh_token", account_id=43),
                  dict(column="refresh_token", account_id=42, table="other")):
        with pytest.raises(IntegrityError):
            ring.decrypt(EXAMPLE_X, **moved)


def test_key_rules():
    with pytest.raises(InvalidKey) as e:
        Keyring("x" * 31)
    assert e.value.reason == "weak_key"
    Keyring("x" * 32)
    Keyring("x" * 31 + "\n" if False else "é" * 16)  # 32 bytes of UTF-8
    for bad, reason in (("base64:AAEC", "weak_key"), ("base64:" + base64.b64encode(bytes(33)).decode(), "weak_key"),
                        ("base64:!!!!", "bad_key"),
                        (EXAMPLE_KEY.rstrip("="), "bad_key"),         # libsodium wants the padding
                        ("base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", "bad_key"),  # stray bits
                        (b"\xff" * 40, "bad_key")):                   # not UTF-8
        with pytest.raises(InvalidKey) as e:
            Keyring(bad)
        assert e.value.reason == reason, bad
    assert Keyring(EXAMPLE_KEY + "\n").primary_kid == Keyring(EXAMPLE_KEY + "\r\n").primary_kid == "e2eb3ad8"
    assert Keyring("p" * 32 + "\n").primary_kid == Keyring("p" * 32).primary_kid
    assert Keyring("p" * 32 + "\n\n").primary_kid != Keyring("p" * 32).primary_kid  # only one newline dropped
    with pytest.raises(InvalidKey) as e:
        Keyring(EXAMPLE_KEY, ["q" * 40, EXAMPLE_KEY + "\n"])
    assert e.value.reason == "duplicate_kid"


def test_from_env_and_files(tmp_path):
    old, new = "o" * 40, EXAMPLE_KEY
    ring = Keyring.from_env({b"SECRET_KEY": new.encode(), b"SECRET_KEY_FALLBACKS": b"%s,%s" % (old.encode(), b"z" * 33)})
    assert ring.kids[0] == "e2eb3ad8" and len(ring.kids) == 3
    assert Keyring.from_env({"SECRET_KEY": new, "SECRET_KEY_FALLBACKS": old}).kids == ring.kids[:2]
    with pytest.raises(InvalidKey) as e:
        Keyring.from_env({})
    assert e.value.reason == "no_key"
    with pytest.raises(InvalidKey) as e:  # an empty entry is a (too short) key, as in C++
        Keyring.from_env({b"SECRET_KEY": new.encode(), b"SECRET_KEY_FALLBACKS": old.encode() + b","})
    assert e.value.reason == "weak_key"
    primary = tmp_path / "primary.key"
    primary.write_text(new + "\n")
    os.chmod(primary, 0o600)
    fallback = tmp_path / "old.key"
    fallback.write_text(old + "\r\n")
    os.chmod(fallback, 0o600)
    ring = Keyring.from_files(primary, [fallback])
    assert ring.kids == [Keyring(new).primary_kid, Keyring(old).primary_kid]
    os.chmod(fallback, 0o644)
    with pytest.raises(InsecureKeyFile):
        Keyring.from_files(primary, [fallback])
    os.chmod(fallback, 0o640)
    with pytest.raises(InsecureKeyFile):
        Keyring.from_files(fallback)
    with pytest.raises(InvalidKey):
        Keyring.from_files(tmp_path / "missing.key")
    with pytest.raises(InvalidKey):
        Keyring.from_files(tmp_path)


def test_no_key_byte_in_repr():
    key = "s3cret-passphrase-" * 3
    ring = Keyring(key, [EXAMPLE_KEY])
    text = repr(ring) + str(ring) + repr(ring._keys) + repr(list(ring._keys.values()))
    assert "s3cret" not in text and "AAECAwQF" not in text
    secret = ring.decrypt(EXAMPLE_X, **LOC)
    assert "Example" not in repr(secret) + str(secret) + f"{secret}" + "%s" % secret
    assert secret == Secret("Atzr|IwEBIExample") and secret.reveal() == "Atzr|IwEBIExample"
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(secret)


def test_same_kid_as_the_cli(cli, db, tmp_path):
    """`credvault keys --json` names the same kids for a base64 key, a passphrase and key files."""
    generated = cli.keygen()
    for primary, fallback in ((generated, "a passphrase of at least thirty-two bytes"), (EXAMPLE_KEY, "ü" * 20)):
        keys = json.loads(cli.run("keys", "--json", db=db, key=primary, fallbacks=[fallback]).stdout)["keys"]
        assert [k["kid"] for k in keys] == Keyring(primary, [fallback]).kids
    path = tmp_path / "cli.key"
    cli.run("keygen", "--out", str(path))
    keys = json.loads(cli.run("--key-file", str(path), "keys", "--json", db=db).stdout)["keys"]
    assert keys[0]["kid"] == Keyring.from_files(path).primary_kid


def test_unknown_format_version_is_refused_never_plaintext():
    # Security review (2026-12) item 8: "cv2:..." is a version credvault does not know, not plaintext:
    # encrypting it would turn a planted value into authenticated ciphertext.
    from credvault._core import Core
    ring = Keyring(EXAMPLE_KEY)
    for value in ("cv2:" + EXAMPLE_X[4:], "cv10:future", "cv0:x", "cv01:" + EXAMPLE_X[4:]):
        assert not credvault.is_ciphertext(value)
        with pytest.raises(MalformedCiphertext) as refused:
            ring.decrypt(value, **LOC)
        assert refused.value.reason == "bad_version"
        with pytest.raises(MalformedCiphertext):
            Core(ring, {}, lifecycle=False).decode(42, (None, None, value))
    # Not versions: plaintext as before.
    for value in ("cv1x:abc", "cvx:abc", "cv:abc", "cv2"):
        with pytest.raises(NotCiphertext):
            ring.decrypt(value, **LOC)
