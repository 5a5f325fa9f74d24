"""The blind index of client_id (docs/FORMAT.md, "Blind index of client_id"), without a database."""
from __future__ import annotations

import os
import re

import pytest

from conftest import SOURCE_DIR
from credvault import Keyring, Secret, UnknownKid, UsageError
from credvault.keyring import CLIENT_ID_INDEX_LENGTH, _hkdf_sha256, _parse_key_material, client_id_index_kid

FORMAT_MD = os.path.join(SOURCE_DIR, "docs", "FORMAT.md")


def _worked_example() -> dict:
    """The table of docs/FORMAT.md's blind-index section: input → value, as the doc prints it."""
    with open(FORMAT_MD, encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Blind index of `client_id`"):]
    section = section[:section.index("\n## ", 1)]
    rows = dict(re.findall(r"^\| \**([a-z_ ]+?)\** \| `([^`]+)`", section, re.M))
    assert set(rows) >= {"key", "index key", "client_id", "client_id_bidx"}, rows
    return rows


def test_worked_example_of_format_md():
    example = _worked_example()
    ring = Keyring(example["key"])
    assert example["client_id_bidx"] == "e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4dQ"  # the doc still shows the reviewed value
    assert ring.primary_client_id_index(example["client_id"]) == example["client_id_bidx"]
    assert ring.client_id_index(example["client_id"], ring.primary_kid) == example["client_id_bidx"]
    ikm = _parse_key_material(example["key"], "test")
    assert _hkdf_sha256(ikm, b"credvault blind index credentials.client_id", 32).hex() == example["index key"]


def test_index_form_and_inputs():
    a, b = Keyring("a" * 32), Keyring("b" * 32)
    ring = Keyring("a" * 32, ["b" * 32])
    value = ring.primary_client_id_index("amzn1.application-oa2-client.x")
    assert len(value) == CLIENT_ID_INDEX_LENGTH and re.fullmatch(r"[0-9a-f]{8}:[A-Za-z0-9_-]{22}", value)
    assert client_id_index_kid(value) == ring.primary_kid
    # str, bytes and Secret of the same bytes index alike; no normalization
    assert ring.primary_client_id_index(b"amzn1.application-oa2-client.x") == value
    assert ring.primary_client_id_index(Secret("amzn1.application-oa2-client.x")) == value
    assert ring.primary_client_id_index("AMZN1.application-oa2-client.x") != value
    assert ring.primary_client_id_index("amzn1.application-oa2-client.x ") != value
    # under every key, primary first; each one is that key's own
    every = ring.client_id_index_under_every_key("amzn1.application-oa2-client.x")
    assert every == [a.primary_client_id_index("amzn1.application-oa2-client.x"),
                     b.primary_client_id_index("amzn1.application-oa2-client.x")]
    assert ring.client_id_index("amzn1.application-oa2-client.x", b.primary_kid) == every[1]
    assert every[0][9:] != every[1][9:]  # another key, another index: not only another prefix
    with pytest.raises(UnknownKid) as unknown:
        ring.client_id_index("amzn1.application-oa2-client.x", "0badc0de")
    assert unknown.value.kid == "0badc0de"
    with pytest.raises(UsageError):
        ring.primary_client_id_index(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "e2eb3ad8", "e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4d", "E2EB3AD8:aZ0fOZMkF6XA_T9HvPe4dQ",
                                 "e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4dQ=", "e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4dR",
                                 "e2eb3ad8;aZ0fOZMkF6XA_T9HvPe4dQ", "e2eb3ad8:aZ0fOZMkF6XA+T9HvPe4dQ",
                                 "e2eb3ad8:aZ0fOZMkF6XA_T9HvPe4dQ\n"])
def test_kid_of_a_malformed_index_is_empty(bad):
    assert client_id_index_kid(bad) == ""


def test_repr_shows_no_index_key():
    ring = Keyring("base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    assert "8302667d" not in repr(ring) and "8302667d" not in repr(ring._primary)
