"""The demo's application: reads and writes credentials with the credvault
Python package (python/, imported from the source tree) while the demo rotates
the key, then prints a tally: reads, writes, errors, and whether every write
survived (each account written is read back and must hold the last value
written to it).

    python3 app.py MIGRATIONS_DIR ACCOUNTS PRIMARY_KEY_FILE FALLBACK_KEY_FILE READY_FILE STOP_FILE ROTATING_FILE

It runs with the new key as primary and the old one as fallback, as an
application is deployed before a rotation. It touches READY_FILE once it has
read and written, and stops when STOP_FILE appears. Operations while
ROTATING_FILE exists are counted as "during the rotation". Nothing secret is
printed: counts only.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))

from credvault import Error, Keyring, Vault  # noqa: E402


def main() -> int:
    migrations, accounts, primary, fallback, ready, stop, rotating = sys.argv[1:8]
    accounts_n = int(accounts)
    ring = Keyring.from_files(primary, [fallback])
    rng = random.Random(20260215)
    reads = writes = errors = during_reads = during_writes = 0
    written = {}  # account → the client_secret last written
    vault = Vault.open(os.environ["DATABASE_URL"], ring, migrations_dir=migrations, max_connections=2)
    try:
        while not os.path.exists(stop):
            account = rng.randint(1, accounts_n)
            during = os.path.exists(rotating)
            try:
                if rng.random() < 0.25:
                    value = f"demo-secret-{account}-{writes}"
                    vault.put_credentials(account, client_secret=value)
                    written[account] = value
                    writes += 1
                    during_writes += during
                else:
                    credentials = vault.get_credentials(account)
                    if credentials.refresh_token is None or credentials.client_secret is None:
                        raise RuntimeError("a value read back as NULL")
                    reads += 1
                    during_reads += during
            except (Error, RuntimeError) as e:  # counted; the message holds no secret
                errors += 1
                print(f"app: error on account {account}: {type(e).__name__}: {e}", file=sys.stderr)
            if reads + writes == 200 and not os.path.exists(ready):
                open(ready, "w").close()
            time.sleep(0.001)
        survived = sum(1 for account, value in written.items()
                       if vault.get_credentials(account).client_secret.reveal() == value)
    finally:
        vault.close()
    print(f"   application tally: {reads} reads, {writes} writes ({during_reads} reads and {during_writes} writes "
          f"while rotate ran), {errors} errors; every write survived: "
          f"{'yes' if survived == len(written) else 'NO'} ({survived}/{len(written)} accounts hold their last write)")
    return 0 if errors == 0 and survived == len(written) else 1


if __name__ == "__main__":
    sys.exit(main())
