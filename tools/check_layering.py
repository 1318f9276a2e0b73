#!/usr/bin/env python3
"""tools/check_layering.py: fails if a lib/ module includes a header of a module it may not use.

The allowed edges are the table in docs/architecture.md ("The modules"); this keeps the two in step. Public headers
(lib/include/barstore/*.hpp) belong to the module that implements them (PUBLIC below); internal
headers are named by their folder ("storage/lmdb.hpp" is storage's).
Usage: check_layering.py [REPO_ROOT]; prints each violation as FILE:LINE and exits 1 if any.
       check_layering.py --self-test: shows the check can fail (a store that includes ingest).
"""
import pathlib
import re
import sys

# Which modules each module may include, besides itself. Lower layers never see higher ones.
ALLOWED = {
    "core": set(),
    "time": {"core"},
    "codec": {"core"},
    "storage": {"core"},
    "aggregate": {"core", "time"},
    "store": {"core", "time", "codec", "storage", "aggregate"},
    "query": {"core", "time", "store", "aggregate"},
    "ingest": {"core", "time"},
    "cache": {"core", "time", "codec", "storage", "store", "aggregate", "query"},
    "load": {"core", "time", "store", "ingest"},
    "version": {"core", "codec"},  # asks LMDB, zstd and date for their versions, nothing else
    "include": None,  # the umbrella header includes everything
    "python": None,  # the Python module binds the public API, through the umbrella header
}
PUBLIC = {
    "types.hpp": "core", "error.hpp": "core", "decimal.hpp": "core", "batch.hpp": "core",
    "time.hpp": "time", "session.hpp": "time",
    "store.hpp": "store",
    "resample.hpp": "aggregate",
    "query.hpp": "query",
    "ingest.hpp": "ingest",
    "reader.hpp": "cache",
    "load.hpp": "load",
    "version.hpp": "version",
    "barstore.hpp": "include",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of_header(name):
    if name.startswith("barstore/"):
        return PUBLIC.get(name.split("/", 1)[1], "?" + name)
    return name.split("/", 1)[0] if "/" in name else None


def violations(root):
    lib = root / "lib"
    bad = []
    for path in sorted(lib.rglob("*")):
        if path.suffix not in (".hpp", ".cpp", ".h"):
            continue
        rel = path.relative_to(lib)
        owner = PUBLIC.get(rel.name) if rel.parts[0] == "include" else rel.parts[0]
        if owner is None or owner not in ALLOWED:
            bad.append(f"lib/{rel}: module '{rel.parts[0]}' is not in ALLOWED (add it and to docs/architecture.md)")
            continue
        allowed = ALLOWED[owner]
        if allowed is None:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = module_of_header(m.group(1))
            if target is None or target == owner:
                continue
            if target.startswith("?") or target not in allowed:
                bad.append(f"lib/{rel}:{n}: {owner} may not include {m.group(1)} ({target.lstrip('?')})")
    return bad


def self_test():
    """A tree with one allowed and two forbidden includes must give exactly the two."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        files = {
            "lib/store/store.cpp": '#include "barstore/ingest.hpp"\n#include "storage/keys.hpp"\n',
            "lib/include/barstore/store.hpp": '#include "barstore/reader.hpp"\n',
            "lib/ingest/csv.cpp": '#include "barstore/time.hpp"\n',
        }
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        bad = violations(root)
    ok = len(bad) == 2 and "store.cpp:1" in bad[1] and "store.hpp:1" in bad[0]
    print("\n".join(bad))
    print("layering self-test: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    bad = violations(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())
    for b in bad:
        print(b)
    print(f"layering: {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
