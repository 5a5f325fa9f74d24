#!/usr/bin/env bash
# The reason tags have one list in C++ (include/credvault/reasons.hpp),
# written out for everyone else in docs/reasons.txt. Fails, naming each
# difference, unless:
#   - the header's constants, its kAll list and docs/reasons.txt hold the same
#     names in the same order;
#   - its other lists name only its constants, and kValue is kAll's first
#     group (docs/reasons.txt and the C ABI's documentation say so);
#   - docs/RUNBOOK.md's list of verify's reasons is the header's kVerify;
#   - Python's errors.py mirrors them: its REASONS mapping's keys are exactly
#     kAll but kJobsOnly (the row jobs' own, which the Python package never runs).
set -euo pipefail
source_dir=${CREDVAULT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 - "$source_dir" <<'PY'
import importlib.util, pathlib, re, sys
root = pathlib.Path(sys.argv[1])
header = (root / "include/credvault/reasons.hpp").read_text()
constants = dict(re.findall(r'inline constexpr char (k\w+)\[\] = "(\w+)";', header))
lists = dict(re.findall(r"std::array<const char\*, \d+> (k\w+) = \{(.*?)\};", header, re.S))
faults = []
if len(constants) < 20 or not {"kAll", "kValue", "kVerify", "kJobsOnly"} <= set(lists):
    sys.exit(f"reasons_consistent: the parser of reasons.hpp found {len(constants)} constants and the lists "
             f"{sorted(lists)}: it is broken")
listed = {name: re.findall(r"\bk\w+\b", body) for name, body in lists.items()}
for name, members in listed.items():
    for member in members:
        if member not in constants:
            faults.append(f"reasons.hpp's {name} holds {member}, which is no reason constant")
names = listed["kAll"]
cpp = [constants.get(name, "?" + name) for name in names]
if listed["kValue"] != names[:len(listed["kValue"])]:
    faults.append(f"reasons.hpp's kValue {listed['kValue']} is not kAll's first group (docs/reasons.txt says it is)")
if sorted(set(names)) != sorted(constants):
    faults.append(f"kAll lists {sorted(set(names))}, the header defines {sorted(constants)}")
docs_path = root / "docs/reasons.txt"
docs = [line.strip() for line in docs_path.read_text().splitlines() if line.strip() and not line.startswith("#")]
if docs != cpp:
    faults.append(f"docs/reasons.txt lists {docs}, reasons.hpp's kAll {cpp}")
for name in sorted(set(docs) - set(cpp)):
    faults.append(f"documented in docs/reasons.txt but not a C++ reason: {name}")

verify = {constants.get(name, "?" + name) for name in listed["kVerify"]}
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
python = set(getattr(errors, "REASONS", {}))
jobs_only = {constants.get(name, "?" + name) for name in listed["kJobsOnly"]}
for name in sorted(python - set(cpp)):
    faults.append(f"in errors.py's REASONS but not a C++ reason (reasons.hpp's kAll): {name}")
for name in sorted(python & jobs_only):
    faults.append(f"in errors.py's REASONS but given only by the row jobs (reasons.hpp's kJobsOnly): {name}")
for name in cpp:
    if name not in python and name not in jobs_only:
        faults.append(f"a C++ reason errors.py's REASONS lacks (nor is it in reasons.hpp's kJobsOnly): {name}")
for fault in faults:
    print(fault)
if faults:
    sys.exit(1)
print(f"reasons_consistent: {len(cpp)} reasons, the same in reasons.hpp and docs/reasons.txt; errors.py's REASONS "
      f"holds the {len(python)} of them not in kJobsOnly")
PY
