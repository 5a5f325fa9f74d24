"""Drives libcredvault's C ABI through ctypes, as a Python application would: the v2 options
(credvault_options_create, credvault_options_set_*, credvault_open_with_options), and
credvault_open, which stays for existing callers; and the lookup by client_id
(credvault_find_accounts, credvault_accounts_free)."""
import ctypes
import os
import sys


class Credentials(ctypes.Structure):
    _fields_ = [("client_id", ctypes.c_char_p), ("client_secret", ctypes.c_char_p), ("refresh_token", ctypes.c_char_p)]


class Account(ctypes.Structure):
    _fields_ = [("account_id", ctypes.c_int64), ("amazon_account_id", ctypes.c_char_p)]


lib = ctypes.CDLL(os.environ["CREDVAULT_LIB"])
lib.credvault_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                               ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.credvault_get.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.POINTER(Credentials))]
lib.credvault_put.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
lib.credvault_credentials_free.argtypes = [ctypes.POINTER(Credentials)]
lib.credvault_close.argtypes = [ctypes.c_void_p]
lib.credvault_find_accounts.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.POINTER(Account)),
                                        ctypes.POINTER(ctypes.c_size_t)]
lib.credvault_accounts_free.argtypes = [ctypes.POINTER(Account), ctypes.c_size_t]
lib.credvault_last_error.restype = ctypes.c_char_p
lib.credvault_last_error_reason.restype = ctypes.c_char_p
lib.credvault_options_create.restype = ctypes.c_void_p
lib.credvault_options_destroy.argtypes = [ctypes.c_void_p]
for setter in ("database_url", "primary_key", "environment", "migrations_dir"):
    getattr(lib, "credvault_options_set_" + setter).argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.credvault_options_set_fallback_keys.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t]
lib.credvault_options_set_max_connections.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
lib.credvault_open_with_options.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]

migrations = (os.environ["CREDVAULT_SOURCE_DIR"] + "/migrations").encode()
db = os.environ["CV_DB"].encode()
key = os.environ["CV_KEY"].encode()
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


vault = ctypes.c_void_p()
rc = lib.credvault_open(db, b"too-short", None, 0, b"staging", migrations, ctypes.byref(vault))
check(rc == 1 and b"too short" in lib.credvault_last_error(), "weak key refused with INVALID_ARGUMENT")
check(b"too-short" not in lib.credvault_last_error(), "error does not echo the key")


def open_vault(primary_key):
    """A vault through the v2 options; (return code, vault)."""
    opened = ctypes.c_void_p()
    options = lib.credvault_options_create()
    try:
        for setter, value in (("database_url", db), ("primary_key", primary_key), ("environment", b"staging"),
                              ("migrations_dir", migrations)):
            check(getattr(lib, "credvault_options_set_" + setter)(options, value) == 0, "set " + setter)
        check(lib.credvault_options_set_max_connections(options, 2) == 0, "set max_connections")
        return lib.credvault_open_with_options(options, ctypes.byref(opened)), opened
    finally:
        lib.credvault_options_destroy(options)


options = lib.credvault_options_create()
check(lib.credvault_options_set_environment(options, b"prod") == 1, "an unknown environment is refused at once")
check(lib.credvault_options_set_max_connections(options, 0) == 1, "max_connections 0 is refused")
rc = lib.credvault_open_with_options(options, ctypes.byref(vault))
check(rc == 1 and b"primary_key" in lib.credvault_last_error(), "no primary key: INVALID_ARGUMENT")
lib.credvault_options_destroy(options)

rc, vault = open_vault(key)
check(rc == 0, "open: %d %s" % (rc, lib.credvault_last_error()))

rc = lib.credvault_put(vault, 1, b"amzn1.application-oa2-client.py", b"amzn1.oa2-cs.v1.from-python", None)
check(rc == 0, "put: %s" % lib.credvault_last_error())
out = ctypes.POINTER(Credentials)()
rc = lib.credvault_get(vault, 1, ctypes.byref(out))
check(rc == 0, "get: %s" % lib.credvault_last_error())
if rc == 0:
    check(out.contents.client_id == b"amzn1.application-oa2-client.py", "client_id round trip")
    check(out.contents.client_secret == b"amzn1.oa2-cs.v1.from-python", "client_secret round trip")
    check(out.contents.refresh_token is None, "NULL stays NULL")
    lib.credvault_credentials_free(out)



def find(vault, client_id):
    """(rc, [(account_id, amazon_account_id)]) from credvault_find_accounts, freed after."""
    found, count = ctypes.POINTER(Account)(), ctypes.c_size_t(99)
    rc = lib.credvault_find_accounts(vault, client_id, ctypes.byref(found), ctypes.byref(count))
    rows = [(found[i].account_id, found[i].amazon_account_id) for i in range(count.value)] if rc == 0 else []
    if rc == 0:
        check(bool(found) == (count.value > 0), "find: NULL array exactly when there are no accounts")
        lib.credvault_accounts_free(found, count.value)
    return rc, rows


rc, rows = find(vault, b"amzn1.application-oa2-client.py")
check(rc == 0 and rows == [(1, b"A1")], "find by client_id: account 1 alone, got %d %r" % (rc, rows))
rc, rows = find(vault, b"amzn1.application-oa2-client.pz")
check(rc == 0 and rows == [], "find: another client_id matches nothing, got %d %r" % (rc, rows))
rc, rows = find(vault, None)
check(rc == 1, "find: NULL client_id is INVALID_ARGUMENT, got %d" % rc)

rc = lib.credvault_get(vault, 2, ctypes.byref(out))
check(rc == 2, "account without credentials is NOT_FOUND, got %d" % rc)
check(b"account 2" in lib.credvault_last_error(), "error names the account")
check(lib.credvault_last_error_reason() == b"", "no reason for a failure other than a value's")
rc = lib.credvault_put(vault, 77, None, b"x", None)
check(rc == 2, "unknown account is NOT_FOUND, got %d" % rc)
rc = lib.credvault_get(None, 1, ctypes.byref(out))
check(rc == 1, "NULL vault is INVALID_ARGUMENT, no crash")
lib.credvault_close(vault)

# Another key: account 1's values are under a kid it does not know.
rc, other = open_vault(b"another key text of at least thirty-two bytes")
check(rc == 0, "open with another key: %d %s" % (rc, lib.credvault_last_error()))
rc = lib.credvault_get(other, 1, ctypes.byref(out))
check(rc == 7 and lib.credvault_last_error_reason() == b"unknown_kid",
      "a value under an unknown kid: DATA_LOSS, reason unknown_kid (got %d, %r)" % (rc, lib.credvault_last_error_reason()))
lib.credvault_close(other)

if failures:
    print("FAILED:", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print("python ctypes: all checks passed")
