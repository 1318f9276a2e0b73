#!/usr/bin/env python3
"""tests/fuzz/make_seeds.py OUT SHARED GOLDEN [BARSTORE]: builds the fuzzers' seed corpus at run
time from ../shared/data (never copied into the repository): small slices of the real CSV
files, every DBN file (plain ones also for the zstd-wrapping target), the golden chunks, and,
given the barstore binary, chunks of the real data cut out of a scratch store's data.mdb by
their magic "BSCK" and the header's payload size (docs/format.md); and the arithmetic edges of
issue 10 (arithmetic_edges), which `make_seeds.py --edges tests/fuzz/corpus BARSTORE` also
writes into the committed corpus."""
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
I64_MAX = (1 << 63) - 1
MIN_NS = 60 * 10**9


def chunks_of(mdb_path):
    """Chunk values cut out of a store's data.mdb by their magic and payload size."""
    raw = open(mdb_path, "rb").read() if os.path.exists(mdb_path) else b""
    at = raw.find(b"BSCK")
    while at >= 0:
        payload = struct.unpack_from("<I", raw, at + 12)[0] if at + 16 <= len(raw) else 0
        end = at + 232 + payload
        if payload < (1 << 20) and end <= len(raw):
            yield raw[at:end]
        at = raw.find(b"BSCK", at + 4)


def arithmetic_edges(out, barstore):
    """Issue 10's edges, in files of our own (no shared data): volumes whose sums pass int64 or
    land on it, stamps at int64's ends and at the supported range's, decimals whose scale-up
    overflows; DBN records built on the synthetic one-bar file; chunks of these cut from a
    scratch store when the barstore binary is given. fuzz_common.hpp resamples what parses."""
    row = "{},1,2,0.5,1.5,{}\n"
    m = lambda i: f"2022-01-03 00:{i:02d}:00"
    csv = {
        "edge_volume_sum_past_int64.csv": "ts,open,high,low,close,volume\n" +
            "".join(row.format(m(i), 9 * 10**18) for i in range(3)),
        "edge_volume_sum_int64_max.csv": "ts,open,high,low,close,volume\n" +
            "".join(row.format(m(i), v) for i, v in enumerate((I64_MAX - 7, 3, 4, I64_MAX, 0, I64_MAX))),
        "edge_epoch_ns_int64_max.csv": "".join(row.format(t, I64_MAX // 2) for t in
            ((I64_MAX // MIN_NS - 2) * MIN_NS, (I64_MAX // MIN_NS - 1) * MIN_NS, (I64_MAX // MIN_NS) * MIN_NS)),
        "edge_epoch_ns_int64_min.csv": "".join(row.format(t, I64_MAX // 2) for t in
            (-(I64_MAX // MIN_NS) * MIN_NS, -(I64_MAX // MIN_NS - 1) * MIN_NS, -(I64_MAX // MIN_NS - 2) * MIN_NS)),
        "edge_dates_supported_range.csv": "ts,open,high,low,close,volume\n" +
            "".join(row.format(d, I64_MAX // 3) for d in
                    ("1678-12-31 23:59:00", "1679-01-01 00:00:00", "1679-01-01 00:01:00",
                     "2260-12-31 23:58:00", "2260-12-31 23:59:00", "2261-01-01 00:00:00")),
        "edge_volume_decimals_scale_up.csv": "ts,open,high,low,close,volume\n" +
            "".join(row.format(m(i), v) for i, v in enumerate(("922337203685477580", "0.5", "0.05"))),
    }
    for name, text in csv.items():
        open(os.path.join(out, "csv", name), "w").write(text)

    # DBN v2: the synthetic file's 128-byte header, then 56-byte ohlcv-1m records whose ts_event
    # (at +8) and volume (at +48) we set; prices as in the synthetic record.
    one = open(os.path.join(HERE, "corpus", "dbn_zstd", "synthetic_v2_one_bar.dbn"), "rb").read()
    header, rec = one[:128], one[128:184]
    t0 = struct.unpack_from("<Q", rec, 8)[0]

    def dbn(records):
        return header + b"".join(rec[:8] + struct.pack("<Q", ts) + rec[16:48] + struct.pack("<Q", vol)
                                 for ts, vol in records)
    top = (I64_MAX // MIN_NS) * MIN_NS
    dbns = {
        "edge_volume_sum_past_int64.dbn": [(t0 + i * MIN_NS, 9 * 10**18) for i in range(3)],
        "edge_volume_int64_max.dbn": [(t0, I64_MAX), (t0 + MIN_NS, 0), (t0 + 3 * MIN_NS, I64_MAX)],
        "edge_volume_past_int64.dbn": [(t0, I64_MAX + 1)],
        "edge_ts_int64_max.dbn": [(top - 2 * MIN_NS, 1), (top - MIN_NS, 2), (top, 3)],
        "edge_ts_epoch.dbn": [(0, I64_MAX // 2), (MIN_NS, I64_MAX // 2), (2 * MIN_NS, 1)],
    }
    for name, records in dbns.items():
        data = dbn(records)
        open(os.path.join(out, "dbn", name), "wb").write(data)
        open(os.path.join(out, "dbn_zstd", name), "wb").write(data)

    if barstore:
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "db")
            for i, name in enumerate(sorted(csv)):
                subprocess.run([barstore, "ingest", "--db", db, "--symbol", f"E{i}", os.path.join(out, "csv", name)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # LMDB keeps stale copies of pages: one seed per distinct chunk.
            for n, chunk in enumerate(sorted(set(chunks_of(os.path.join(db, "data.mdb"))))):
                open(os.path.join(out, "chunk", f"edge_store.{n}.bin"), "wb").write(chunk)


if len(sys.argv) > 1 and sys.argv[1] == "--edges":
    # make_seeds.py --edges CORPUS [BARSTORE]: (re)writes the edge seeds kept in tests/fuzz/corpus.
    for t in ("csv", "dbn", "dbn_zstd", "chunk"):
        os.makedirs(os.path.join(sys.argv[2], t), exist_ok=True)
    arithmetic_edges(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    sys.exit(0)

out, shared, golden = sys.argv[1], sys.argv[2], sys.argv[3]
barstore = sys.argv[4] if len(sys.argv) > 4 else None
rng = random.Random(20240101)
for t in ("csv", "dbn", "dbn_zstd", "chunk"):
    os.makedirs(os.path.join(out, t), exist_ok=True)
arithmetic_edges(out, barstore)

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
        for n, chunk in enumerate(chunks_of(os.path.join(db, "data.mdb"))):
            if n == 40:
                break
            open(os.path.join(out, "chunk", f"store.{n}.bin"), "wb").write(chunk)
for t in ("csv", "dbn", "dbn_zstd", "chunk"):
    print(f"seeds {t}: {len(os.listdir(os.path.join(out, t)))}")
