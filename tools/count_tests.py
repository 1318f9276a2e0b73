#!/usr/bin/env python3
"""Counts test results from one or more meson testlog.json files (tools/test --ci passes the
release, sanitizer, stress and fuzz runs): doctest binaries and pytest by their own case counts, other
tests (CLI scripts, corpus replays, fuzz runs) as one each. With --figures, first prints every
FIGURE line the tests wrote (docs/reliability.md). Ends with "N passed, N failed"; exits 1 if
any failed, or if a log is missing (a build that never ran its tests is a failure)."""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed")
# pytest -q's last line (tests/python): "1 failed, 18 passed in 5.47s", counted per test function.
PYTEST = re.compile(r"^(?:(\d+) failed, )?(\d+) passed.* in [\d.]+s", re.M)

args = sys.argv[1:]
figures = "--figures" in args
logs = [a for a in args if a != "--figures"]
passed = failed = 0
lines = []
for path in logs:
    try:
        log = open(path)
    except OSError:
        print(f"{path}: missing (its tests did not run)", file=sys.stderr)
        failed += 1
        continue
    with log:
        for line in log:
            test = json.loads(line)
            ok = test["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
            out = test.get("stdout") or ""
            lines += [l for l in out.splitlines() if l.startswith("FIGURE ")]
            m = SUMMARY.search(out)
            p = PYTEST.search(out) if test.get("name", "").split(" / ")[-1] == "python" else None
            if p:
                passed += int(p.group(2))
                failed += int(p.group(1) or 0)
                if not ok and not p.group(1):
                    failed += 1
            elif m:
                passed += int(m.group(2))
                failed += int(m.group(3))
                # A crash or timeout after some cases passed still fails the binary.
                if not ok and int(m.group(3)) == 0:
                    failed += 1
            elif ok:
                passed += 1
            else:
                failed += 1
if figures:
    for l in lines:
        print(l)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
