"""The exceptions: each C++ reason tag the package raises has one class, exported from credvault."""
from __future__ import annotations

import pytest

import credvault
from credvault import errors
from credvault.schema import check_at_head

FAMILIES = (credvault.Error, credvault.InvalidKey, credvault.NotCiphertext, credvault.IntegrityError,
            credvault.MalformedCiphertext, credvault.SchemaError, credvault.NotFound)


def test_reasons_map_each_tag_to_its_exported_class():
    assert credvault.REASONS is errors.REASONS and len(errors.REASONS) >= 20
    for reason, cls in errors.REASONS.items():
        assert cls.REASON == reason and issubclass(cls, credvault.Error)
        assert getattr(credvault, cls.__name__) is cls and cls.__name__ in credvault.__all__
    tagged = [cls for cls in vars(errors).values()
              if isinstance(cls, type) and issubclass(cls, credvault.Error) and cls.REASON]
    assert sorted(cls.REASON for cls in tagged) == sorted(errors.REASONS)  # one class per tag
    for family in FAMILIES:  # what to catch; the tags are on their members
        assert family.REASON == "" and family.__name__ in credvault.__all__
    assert set(errors.__all__) <= set(credvault.__all__)


def test_an_instance_reports_its_class_tag():
    e = credvault.RetiredKid.of_value("credentials.client_id of account 7", "0a1b2c3d")
    assert (e.reason, e.kid) == ("retired_kid", "0a1b2c3d") and isinstance(e, credvault.IntegrityError)
    assert "credentials.client_id of account 7 is under key 0a1b2c3d, which is retired" in str(e)
    assert credvault.RetiredKid.of_primary("0a1b2c3d").reason == "retired_kid"
    assert credvault.SchemaBehind("behind", ["20260215_0002"]).pending == ["20260215_0002"]


def test_schema_gate_reasons():
    files = {"20260215_0001": "c1", "20260215_0002": "c2"}
    applied = [("20260215_0001", "c1", "applied", "")]
    with pytest.raises(credvault.SchemaBehind) as behind:
        check_at_head(applied, files, "production", "migrations")
    assert behind.value.reason == "pending_migrations" and behind.value.pending == ["20260215_0002"]
    with pytest.raises(credvault.SchemaError) as edited:
        check_at_head([("20260215_0001", "other", "applied", "")], files, "production", "migrations")
    assert edited.value.reason == "checksum"
    with pytest.raises(credvault.SchemaError) as missing:
        check_at_head(applied + [("20260215_0002", "c2", "applied", "")], {"20260215_0001": "c1"}, "production",
                      "migrations")
    assert missing.value.reason == "missing_file"
    with pytest.raises(credvault.SchemaError) as unfinished:  # untagged in C++ too
        check_at_head([("20260215_0001", "c1", "running", "")], files, "production", "migrations")
    assert type(unfinished.value) is credvault.SchemaError and unfinished.value.reason == ""
