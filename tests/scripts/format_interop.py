#!/usr/bin/python3
"""Runs the Python snippet of docs/FORMAT.md against values written by C++,
and writes values with an independent Python encryptor for C++ to decrypt.

usage: format_interop.py FORMAT.md IN.json OUT.json
IN.json: {"key_file": ..., "values": [{"alg","table","column","account_id","plaintext","value"}...]}
The key is read from key_file exactly as FORMAT.md tells an application to
(`open(path).read()`, trailing newline and all), so the snippet's own key
handling is what is tested. Exits non-zero on the first mismatch.
OUT.json: same shape, written by Python.
"""
import base64
import json
import os
import re
import sys


def load_snippet(format_md: str) -> dict:
    text = open(format_md, encoding="utf-8").read()
    section = text[text.index("## Decrypting from Python"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, format_md, "exec"), namespace)
    return namespace


def python_encrypt(ns: dict, alg: str, key_text: str, table: str, column: str, account_id: int,
                   plaintext: bytes) -> str:
    ikm = ns["credvault_ikm"](key_text)
    kid = ns["_hkdf_sha256"](ikm, b"credvault kid", 4).hex()
    key = ns["_hkdf_sha256"](ikm, b"credvault aead " + alg.encode(), 32)
    aad = f"cv1:{alg}:{kid}:{table}\0{column}\0{account_id}".encode()
    if alg == "x":
        from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt
        nonce = os.urandom(24)
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, key)
    else:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext, aad)
    payload = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"cv1:{alg}:{kid}:{payload}"


def main() -> int:
    format_md, in_path, out_path = sys.argv[1:4]
    ns = load_snippet(format_md)
    data = json.load(open(in_path, encoding="utf-8"))
    with open(data["key_file"], encoding="utf-8") as key_file:
        key = key_file.read()
    checked = 0
    for item in data["values"]:
        got = ns["credvault_decrypt"](item["value"], key, item["table"], item["column"], item["account_id"])
        if got != item["plaintext"].encode():
            print(f"mismatch for {item['alg']} {item['column']} {item['account_id']}", file=sys.stderr)
            return 1
        checked += 1
        # The same value must not decrypt for another account (AAD binding).
        try:
            ns["credvault_decrypt"](item["value"], key, item["table"], item["column"], item["account_id"] + 1)
            print("a value decrypted under another account_id", file=sys.stderr)
            return 1
        except Exception:
            pass
    out = {"key_file": data["key_file"], "values": []}
    for item in data["values"]:
        value = python_encrypt(ns, item["alg"], key, item["table"], item["column"], item["account_id"],
                               item["plaintext"].encode())
        out["values"].append(dict(item, value=value))
    json.dump(out, open(out_path, "w", encoding="utf-8"))
    print(f"python decrypted {checked} C++ values and wrote {len(out['values'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
