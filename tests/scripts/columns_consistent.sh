#!/usr/bin/env bash
# The encrypted columns of credentials have one list in C++
# (src/ledger/credentials_table.hpp: kCredentialColumns, each a SQL name and
# the name a value's AAD binds) and the Python package builds its SQL from
# its own (python/src/credvault/_sql.py: COLUMNS), since it ships without the
# C++ sources. Fails, naming the difference, unless both hold the same names
# in the same order, and every AAD name is the SQL name (Python binds the
# SQL name: a column renamed in C++ must keep its AAD name, and Python must
# learn it too).
set -euo pipefail
source_dir=${CREDVAULT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 - "$source_dir" <<'PY'
import ast, pathlib, re, sys
root = pathlib.Path(sys.argv[1])
header = (root / "src/ledger/credentials_table.hpp").read_text()
listed = re.search(r"kCredentialColumns = \{\{(.*?)\}\};", header, re.S)
if not listed:
    sys.exit("columns_consistent: kCredentialColumns not found in credentials_table.hpp: the parser is broken")
cpp = re.findall(r'\{"(\w+)", "(\w+)"\}', listed.group(1))
if len(cpp) < 3:
    sys.exit(f"columns_consistent: found {cpp} in kCredentialColumns: the parser is broken")
module = ast.parse((root / "python/src/credvault/_sql.py").read_text())
python = next((tuple(ast.literal_eval(node.value)) for node in module.body if isinstance(node, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "COLUMNS" for t in node.targets)), None)
faults = []
if python is None:
    faults.append("python/src/credvault/_sql.py has no COLUMNS")
elif list(python) != [name for name, _ in cpp]:
    faults.append(f"C++ kCredentialColumns {[name for name, _ in cpp]} != Python COLUMNS {list(python)}")
faults += [f"{name}: AAD name {aad} differs from the SQL name (Python binds the SQL name)" for name, aad in cpp if aad != name]
for fault in faults:
    print(f"columns_consistent: {fault}", file=sys.stderr)
if faults:
    sys.exit(1)
print(f"columns_consistent: {len(cpp)} columns, the same in C++ and Python")
PY
