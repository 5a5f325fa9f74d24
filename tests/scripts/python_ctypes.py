"""Drives libcredvault's C ABI through ctypes, as a Python application would."""
import ctypes
import os
import sys


class Credentials(ctypes.Structure):
    _fields_ = [("client_id", ctypes.c_char_p), ("client_secret", ctypes.c_char_p), ("refresh_token", ctypes.c_char_p)]


lib = ctypes.CDLL(os.environ["CREDVAULT_LIB"])
lib.credvault_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                               ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.credvault_get.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.POINTER(Credentials))]
lib.credvault_put.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
lib.credvault_credentials_free.argtypes = [ctypes.POINTER(Credentials)]
lib.credvault_close.argtypes = [ctypes.c_void_p]
lib.credvault_last_error.restype = ctypes.c_char_p

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

rc = lib.credvault_open(db, key, None, 0, b"staging", migrations, ctypes.byref(vault))
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

rc = lib.credvault_get(vault, 2, ctypes.byref(out))
check(rc == 2, "account without credentials is NOT_FOUND, got %d" % rc)
check(b"account 2" in lib.credvault_last_error(), "error names the account")
rc = lib.credvault_put(vault, 77, None, b"x", None)
check(rc == 2, "unknown account is NOT_FOUND, got %d" % rc)
rc = lib.credvault_get(None, 1, ctypes.byref(out))
check(rc == 1, "NULL vault is INVALID_ARGUMENT, no crash")
lib.credvault_close(vault)

if failures:
    print("FAILED:", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print("python ctypes: all checks passed")
