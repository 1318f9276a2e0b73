#!/usr/bin/env python3
"""Counts test results from meson's testlog.json: doctest binaries by their own case counts,
other tests (CLI scripts) as one each. Prints "N passed, N failed"; exits 1 if any failed."""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed")

passed = failed = 0
with open(sys.argv[1]) as log:
    for line in log:
        test = json.loads(line)
        ok = test["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
        m = SUMMARY.search(test.get("stdout") or "")
        if m:
            passed += int(m.group(2))
            failed += int(m.group(3))
            # A crash or timeout after some cases passed still fails the binary.
            if not ok and int(m.group(3)) == 0:
                failed += 1
        elif ok:
            passed += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
