#!/usr/bin/env bash
# The one-way rule of docs/ARCHITECTURE.md: no file of src/ includes a header
# of a higher room, and the public headers (include/credvault/) include only
# each other. The room order is read from src/rooms.txt, lowest first. Fails
# naming each offending #include (file:line, its room, the included room).
set -euo pipefail
source_dir=${CREDVAULT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 - "$source_dir" <<'PY'
import pathlib, re, sys
root = pathlib.Path(sys.argv[1])
rooms = [line.strip() for line in (root / "src/rooms.txt").read_text().splitlines()
         if line.strip() and not line.startswith("#")]
rank = {room: i for i, room in enumerate(rooms)}
present = sorted(p.name for p in (root / "src").iterdir() if p.is_dir())
faults = [f"src/{room}/ is not in src/rooms.txt" for room in present if room not in rank]
include = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/', re.M)
checked = 0
for room in rooms:
    for path in sorted((root / "src" / room).glob("*.[ch]pp")):
        text = path.read_text()
        for match in include.finditer(text):
            target = match.group(1)
            checked += 1
            if target in rank and rank[target] > rank[room]:
                line = text.count("\n", 0, match.start()) + 1
                faults.append(f"src/{room}/{path.name}:{line}: room {room} includes {target}/, a higher room")
for path in sorted((root / "include/credvault").glob("*.h*")):
    text = path.read_text()
    for match in include.finditer(text):
        checked += 1
        if match.group(1) != "credvault":
            line = text.count("\n", 0, match.start()) + 1
            faults.append(f"include/credvault/{path.name}:{line}: a public header includes {match.group(1)}/")
for fault in faults:
    print(fault)
if faults:
    sys.exit(1)
if checked < 100:
    sys.exit(f"layering: only {checked} #include lines found: the parser is broken")
print(f"layering: {checked} #include lines, none upward ({' < '.join(rooms)})")
PY
