"""Prints the links schemathesis' stateful phase followed (from its NDJSON event log) and fails
unless the declared document links ran: create -> get, source and delete; delete -> get."""
import json
import re
import sys
from collections import Counter

TRANSITION = re.compile(
    r'"transition":\{"id":("(?:[^"\\]|\\.)*"),"parent_id":[^,]*,"is_inferred":(true|false)'
)
REQUIRED = [
    "POST /api/documents -> [201] GetDocument -> GET /api/documents/{id}",
    "POST /api/documents -> [201] GetDocumentSource -> GET /api/documents/{id}/source",
    "POST /api/documents -> [201] DeleteDocument -> DELETE /api/documents/{id}",
    "DELETE /api/documents/{id} -> [204] GetDocument -> GET /api/documents/{id}",
]

ran = Counter()
with open(sys.argv[1], encoding="utf-8") as events:
    for line in events:
        for match in TRANSITION.finditer(line):
            ran[(json.loads(match.group(1)), match.group(2) == "true")] += 1
print("stateful transitions that ran:")
for (transition, inferred), count in sorted(ran.items()):
    print(f"  {count:4}  {transition}{'  (inferred)' if inferred else ''}")
missing = [t for t in REQUIRED if not any(t == name for name, _ in ran)]
if missing:
    sys.exit("error: the stateful phase never followed: " + "; ".join(missing))
