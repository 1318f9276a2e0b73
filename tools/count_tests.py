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
TAIL_LINES = 40
# doctest's "TEST CASE:", "file:line: ERROR: CHECK(...) is NOT correct!" and "values:" lines, and
# pytest's "FAILED test::case" and "E   assert ..." lines.
FAILURE_LINE = re.compile(r"^TEST CASE:|: (FATAL )?ERROR: |^\s+values: |^FAILED |^E   ")


def report_failure(log_path, test):
    """Names a failed test on stderr, with its failure lines and the tail of its output."""
    out = (test.get("stdout") or "").splitlines()
    err = (test.get("stderr") or "").splitlines()
    print(f"FAILED {test.get('name')} ({test['result']}, {test.get('duration', 0):.1f} s) in {log_path}",
          file=sys.stderr)
    for l in [l for l in out if FAILURE_LINE.search(l)][:TAIL_LINES]:
        print(f"  | {l}", file=sys.stderr)
    for label, text in (("stdout", out), ("stderr", err)):
        if text:
            print(f"  last {min(len(text), TAIL_LINES)} lines of {label}:", file=sys.stderr)
            for l in text[-TAIL_LINES:]:
                print(f"  | {l}", file=sys.stderr)
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
            before = failed
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
            # With --figures (tools/test's final tally) each stage has already named its failures.
            if failed > before and not figures:
                report_failure(path, test)
if figures:
    for l in lines:
        print(l)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
