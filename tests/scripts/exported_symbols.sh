#!/usr/bin/env bash
# The sealed library: libcredvault.so exports exactly its public API. Every
# dynamic symbol must belong to a name that include/credvault/ marks
# CREDVAULT_EXPORT (a function, or a member of an exported class), and every
# such name must be exported (a public function left hidden would fail to
# link in a user's program).
set -euo pipefail
: "${CREDVAULT_LIB:?}" "${CREDVAULT_SOURCE_DIR:?}"
nm -D --defined-only -C "$CREDVAULT_LIB" | awk '{ $1 = ""; $2 = ""; sub(/^  /, ""); print }' >"${TMPDIR:-/tmp}/cv_symbols.$$"
trap 'rm -f "${TMPDIR:-/tmp}/cv_symbols.$$"' EXIT
/usr/bin/python3 - "$CREDVAULT_SOURCE_DIR/include/credvault" "${TMPDIR:-/tmp}/cv_symbols.$$" <<'PY'
import pathlib, re, sys
headers, symbols_file = pathlib.Path(sys.argv[1]), sys.argv[2]
public = set()  # names: "credvault::Vault", "credvault::ParseEnvelope", "credvault_open", ...
for header in sorted(headers.glob("*.h*")):
    text = header.read_text()
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"^\s*#[^\n]*", "", text, flags=re.M)  # the macro's own definition
    for match in re.finditer(r"CREDVAULT_EXPORT\s+([^;{]*?)\b(\w+)\s*[({]", text):
        declaration, name = match.group(1), match.group(2)
        before = text[:match.start()]
        in_internal = before.rfind("namespace internal {") > before.rfind("}  // namespace internal")
        if name.startswith("credvault_"):
            public.add(name)
        elif in_internal:
            public.add("credvault::internal::" + name)
        else:
            public.add("credvault::" + name)
    # exported classes: "class [[nodiscard]] CREDVAULT_EXPORT Name {"
    for match in re.finditer(r"class\s+(?:\[\[\w+\]\]\s+)?CREDVAULT_EXPORT\s+(\w+)", text):
        public.add("credvault::" + match.group(1))
symbols = [line.strip() for line in open(symbols_file) if line.strip()]
if len(public) < 10:
    sys.exit(f"exported_symbols: found only {len(public)} CREDVAULT_EXPORT names in {headers}: the parser is broken")
def owner(symbol):
    for prefix in ("typeinfo for ", "typeinfo name for ", "vtable for "):
        if symbol.startswith(prefix):
            symbol = symbol[len(prefix):]
    symbol = symbol.split("(")[0].split("[abi:")[0]
    # the longest public name that is the symbol or a scope of it
    best = None
    for name in public:
        if symbol == name or symbol.startswith(name + "::"):
            if best is None or len(name) > len(best):
                best = name
    return best
# Internals kept in src/ (an exported class's member is exported whole, so a
# name here would sneak back in as a member): none may be exported.
internal = ("DecryptInto", "ClassifyValue", "ReleaseHook", "ParseKeySource", "DescribeKeySource", "KeyringAccess",
            "PeekKid")
for s in symbols:
    if any(name in s for name in internal):
        print(f"an internal is exported: {s}")
        sys.exit(1)
stray = [s for s in symbols if owner(s) is None]
used = {owner(s) for s in symbols}
missing = sorted(public - used)
for s in stray:
    print(f"exported but not public API: {s}")
for name in missing:
    print(f"public API (CREDVAULT_EXPORT) but not exported: {name}")
if stray or missing:
    sys.exit(1)
print(f"exported_symbols: {len(symbols)} symbols, all from the {len(public)} public names, none missing")
PY
