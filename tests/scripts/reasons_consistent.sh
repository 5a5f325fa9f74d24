#!/usr/bin/env bash
# The reasons a value fails to decrypt or verify have one list in C++
# (include/credvault/reasons.hpp), written out for everyone else in
# docs/reasons.txt. Fails, naming each difference, unless:
#   - the header's constants, its kAll list and docs/reasons.txt hold the same
#     names in the same order;
#   - docs/RUNBOOK.md's list of verify's reasons is the header's kVerify;
#   - Python's errors.py knows every one: its REASONS mapping has exactly these
#     keys, or (while it has none) each appears in it as a quoted string.
set -euo pipefail
source_dir=${CREDVAULT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 - "$source_dir" <<'PY'
import importlib.util, pathlib, re, sys
root = pathlib.Path(sys.argv[1])
header = (root / "include/credvault/reasons.hpp").read_text()
constants = dict(re.findall(r'inline constexpr char (k\w+)\[\] = "(\w+)";', header))
listed = re.search(r"kAll = \{(.*?)\};", header, re.S)
faults = []
if len(constants) < 10 or not listed:
    sys.exit(f"reasons_consistent: the parser of reasons.hpp found {len(constants)} constants: it is broken")
names = re.findall(r"\bk\w+\b", listed.group(1))
cpp = [constants.get(name, "?" + name) for name in names]
if sorted(set(names)) != sorted(constants):
    faults.append(f"kAll lists {sorted(set(names))}, the header defines {sorted(constants)}")
docs_path = root / "docs/reasons.txt"
docs = [line.strip() for line in docs_path.read_text().splitlines() if line.strip() and not line.startswith("#")]
if docs != cpp:
    faults.append(f"docs/reasons.txt lists {docs}, reasons.hpp's kAll {cpp}")
for name in sorted(set(docs) - set(cpp)):
    faults.append(f"documented in docs/reasons.txt but not a C++ reason: {name}")

verify_listed = re.search(r"kVerify = \{(.*?)\};", header, re.S)
verify = {constants.get(name, "?" + name) for name in re.findall(r"\bk\w+\b", verify_listed.group(1))}
runbook = (root / "docs/RUNBOOK.md").read_text()
said = re.search(r"for each reason \((.*?)\) right after its summary", runbook, re.S)
if not said:
    faults.append("docs/RUNBOOK.md no longer lists verify's reasons ('for each reason (...) right after its summary')")
else:
    documented = {word for word in re.findall(r"`(\w+)`", said.group(1))}
    for name in sorted(documented - verify):
        faults.append(f"docs/RUNBOOK.md lists {name} as a verify reason; reasons.hpp's kVerify does not")
    for name in sorted(verify - documented):
        faults.append(f"reasons.hpp's kVerify holds {name}; docs/RUNBOOK.md's list of verify's reasons does not")

errors_path = root / "python/src/credvault/errors.py"
spec = importlib.util.spec_from_file_location("credvault_errors", errors_path)
errors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(errors)
mapping = getattr(errors, "REASONS", None)
if mapping is not None:
    python = set(mapping)
    for name in sorted(python - set(cpp)):
        faults.append(f"in errors.py's REASONS but not a C++ reason: {name}")
else:
    quoted = set(re.findall(r"[\"'](\w+)[\"']", errors_path.read_text()))
    python = {name for name in cpp if name in quoted}
for name in cpp:
    if name not in python:
        faults.append(f"a C++ reason errors.py does not know: {name}")
for fault in faults:
    print(fault)
if faults:
    sys.exit(1)
print(f"reasons_consistent: {len(cpp)} reasons, the same in reasons.hpp, docs/reasons.txt and errors.py")
PY
