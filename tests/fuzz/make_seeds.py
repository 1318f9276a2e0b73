#!/usr/bin/env python3
"""tests/fuzz/make_seeds.py OUT SHARED GOLDEN [BARSTORE]: builds the fuzzers' seed corpus at run
time from ../shared/data (never copied into the repository): small slices of the real CSV
files, every DBN file (plain ones also for the zstd-wrapping target), the golden chunks, and,
given the barstore binary, chunks of the real data cut out of a scratch store's data.mdb by
their magic "BSCK" and the header's payload size (docs/format.md)."""
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

out, shared, golden = sys.argv[1], sys.argv[2], sys.argv[3]
barstore = sys.argv[4] if len(sys.argv) > 4 else None
rng = random.Random(20240101)
for t in ("csv", "dbn", "dbn_zstd", "chunk"):
    os.makedirs(os.path.join(out, t), exist_ok=True)

csv_dir = os.path.join(shared, "data", "csv")
slices = []
for name in sorted(os.listdir(csv_dir)):
    lines = open(os.path.join(csv_dir, name), "rb").read().splitlines(keepends=True)
    header = lines[:1] if lines and not lines[0][:1].isdigit() else []
    body = lines[len(header):]
    for k in range(12):
        n = rng.choice((2, 5, 20, 60, 200))
        at = 0 if k == 0 else rng.randrange(0, max(1, len(body) - n))
        data = b"".join(header + body[at:at + n])
        slices.append((name, k, data))
        open(os.path.join(out, "csv", f"{name}.{k}.csv"), "wb").write(data)

dbn_dir = os.path.join(shared, "data", "dbn")
for name in sorted(os.listdir(dbn_dir)):
    shutil.copy(os.path.join(dbn_dir, name), os.path.join(out, "dbn", name))
    if not name.endswith(".zst"):
        shutil.copy(os.path.join(dbn_dir, name), os.path.join(out, "dbn_zstd", name))

for name in sorted(os.listdir(golden)):
    if name.endswith(".bin"):
        shutil.copy(os.path.join(golden, name), os.path.join(out, "chunk", name))

if barstore:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "db")
        for i, (name, k, data) in enumerate(s for s in slices if s[2].count(b"\n") >= 20):
            f = os.path.join(tmp, f"s{i}.csv")
            open(f, "wb").write(data)
            subprocess.run([barstore, "ingest", "--db", db, "--symbol", f"S{i}", f],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        raw = open(os.path.join(db, "data.mdb"), "rb").read() if os.path.exists(os.path.join(db, "data.mdb")) else b""
        at, n = raw.find(b"BSCK"), 0
        while at >= 0 and n < 40:
            payload = struct.unpack_from("<I", raw, at + 12)[0] if at + 16 <= len(raw) else 0
            end = at + 232 + payload
            if payload < (1 << 20) and end <= len(raw):
                open(os.path.join(out, "chunk", f"store.{n}.bin"), "wb").write(raw[at:end])
                n += 1
            at = raw.find(b"BSCK", at + 4)
for t in ("csv", "dbn", "dbn_zstd", "chunk"):
    print(f"seeds {t}: {len(os.listdir(os.path.join(out, t)))}")
