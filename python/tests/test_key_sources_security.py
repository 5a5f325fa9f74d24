"""Security review items 6 and 9 (SECURITY.md): exec: helpers and key files, without a database."""
from __future__ import annotations

import base64
import os
import threading
import time

import pytest

from credvault import InsecureKeyFile, InvalidKey, Keyring
from credvault import keyring as keyring_module

KEY = "base64:" + base64.b64encode(bytes(range(32))).decode("ascii")


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may never reap an orphan)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_a_helper_that_closed_its_pipes_is_killed_at_the_deadline_with_its_children(tmp_path, monkeypatch):
    monkeypatch.setattr(keyring_module, "EXEC_TIMEOUT_SECONDS", 1)
    pid_file = tmp_path / "grandchild.pid"
    # The grandchild and the helper close stdout and stderr, then outlive the deadline.
    command = f"(exec >&- 2>&-; sleep 8) & echo $! > '{pid_file}'; exec >&- 2>&-; sleep 5"
    start = time.monotonic()
    with pytest.raises(InvalidKey) as error:
        Keyring.from_env({"SECRET_KEY": f"exec:{command}"})
    elapsed = time.monotonic() - start
    assert "did not finish within 1 s" in str(error.value) and error.value.reason == "key_command"
    assert elapsed < 3, f"held {elapsed:.1f} s"
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 2
    while _running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(grandchild), "the helper's child outlived the deadline"


def test_the_helper_environment_holds_no_password(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:HUNTER2-url@db/app")
    monkeypatch.setenv("PGPASSWORD", "HUNTER2-pg")
    monkeypatch.setenv("PGUSER", "app")
    monkeypatch.setenv("CREDVAULT_PKCS11_PIN", "HUNTER2-pin")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example:8200")
    monkeypatch.setenv("CREDVAULT_KEY_ID", "primary")
    env_file = tmp_path / "env"
    ring = Keyring.from_env({"SECRET_KEY": f"exec:env > '{env_file}'; echo '{KEY}'"})
    assert ring.primary_kid == Keyring(KEY).primary_kid
    seen = env_file.read_text()
    assert "HUNTER2" not in seen
    names = {line.split("=", 1)[0] for line in seen.splitlines() if "=" in line}
    assert not [n for n in names if n.startswith("PG") or n == "DATABASE_URL"]
    assert {"AWS_REGION", "VAULT_ADDR", "CREDVAULT_KEY_ID", "PATH"} <= names
    # A failing helper's stderr is quoted: it cannot quote what it never had.
    with pytest.raises(InvalidKey) as error:
        Keyring.from_env({"SECRET_KEY": "exec:env >&2; exit 1"})
    assert "HUNTER2" not in str(error.value) and error.value.reason == "key_command"


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_key_file_owned_by_another_user_is_refused(tmp_path):
    path = tmp_path / "foreign.key"
    path.write_text(KEY + "\n")
    path.chmod(0o600)
    assert Keyring.from_files(path).primary_kid == Keyring(KEY).primary_kid
    os.chown(path, 65534, 65534)  # nobody
    with pytest.raises(InsecureKeyFile) as error:
        Keyring.from_files(path)
    assert "owned by uid 65534" in str(error.value)
    with pytest.raises(InsecureKeyFile):
        Keyring.from_env({"SECRET_KEY": f"file:{path}"})


def test_a_fifo_key_file_is_refused_without_blocking(tmp_path):
    path = tmp_path / "fifo.key"
    os.mkfifo(path, 0o600)
    outcome = {}

    def read() -> None:
        try:
            Keyring.from_files(path)
            outcome["result"] = "accepted"
        except InvalidKey as e:
            outcome["result"] = str(e)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(2)
    blocked = reader.is_alive()
    if blocked:  # unblock the reader's open so that the test ends
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        reader.join(2)
    assert not blocked, "opening a FIFO key file blocked"
    assert "not a regular file" in outcome["result"]


def test_a_symlinked_key_file_is_followed_and_its_target_checked(tmp_path):
    target = tmp_path / "..data"
    target.mkdir()
    (target / "primary.key").write_text(KEY + "\n")
    (target / "primary.key").chmod(0o600)
    link = tmp_path / "primary.key"
    link.symlink_to(target / "primary.key")  # how a Kubernetes secret volume looks
    assert Keyring.from_files(link).primary_kid == Keyring(KEY).primary_kid
    (target / "primary.key").chmod(0o644)
    with pytest.raises(InsecureKeyFile):
        Keyring.from_files(link)
