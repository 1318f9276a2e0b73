"""barstore.dask: parameter sweeps on a Dask cluster over one read-only snapshot (docs/deploy.md).

    from barstore.dask import grid, sweep
    results = sweep("bars.snapshot", strategy, grid(fast=range(5, 55, 5), slow=[50, 100]), ["BTC", "SPY"])

runs `strategy(reader, symbol, **params)` for every parameter dict and every symbol, one Dask
task each, and returns a pandas DataFrame with one row per (symbol, parameter set): the symbol,
the parameters, then the strategy's result (a number in column `result`, or a dict's keys).

What makes a task cheap: each worker process opens the snapshot once and keeps it (a mapped
file: its pages are the OS page cache, shared by every worker on the node), prewarmed
aggregates are read, not recomputed, and each task gets only a fresh Reader over the open Store,
so no task's windows leak into another's result. A result is a pure function of (snapshot,
strategy, symbol, params), so a task lost with its worker is simply run again by Dask.

From the command line (Dask's progress bar on a terminal):

    /usr/bin/python3 -m barstore.dask --snapshot bars.snapshot --strategy ma_cross.py \\
        --grid fast=5..50:5,slow=50..200:25 --symbols BTC,SPY [--workers N] [--scheduler tcp://HOST:8786]
"""
import argparse
import contextlib
import hashlib
import itertools
import os
import sys
import threading
import time
import uuid
from pathlib import Path

import barstore

__all__ = ["sweep", "grid", "parse_grid", "StrategyFile", "TaskFailed", "worker_store", "worker_state"]


class TaskFailed(RuntimeError):
    """A strategy raised: the message names the symbol and parameters, the cause is the original."""


# ---- the worker side: one open snapshot per process -----------------------------------------

_stores = {}  # (real path, st_dev, st_ino) -> barstore.Store, for this process's lifetime
_stores_lock = threading.Lock()  # a worker may run several tasks at once on its threads
_opens = 0


def worker_store(snapshot):
    """The read-only Store of `snapshot`, opened once per process and kept.

    Keyed by the file's identity too, so a snapshot published anew under the same name (a new
    file renamed into place: snapshots are never written over) is opened afresh, while tasks
    already running go on with the file they mapped."""
    global _opens
    path = os.path.realpath(snapshot)
    st = os.stat(path)
    key = (path, st.st_dev, st.st_ino)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = barstore.Store(path, read_only=True)
            _stores[key] = store
            _opens += 1
        return store


def worker_state():
    """This process's pid, its open snapshots and how many opens it made (for client.run)."""
    with _stores_lock:
        return {"pid": os.getpid(), "snapshots": sorted(k[0] for k in _stores), "opens": _opens}


def _run_task(snapshot, strategy, symbol, params, reader_options):
    store = worker_store(snapshot)
    reader = barstore.Reader(store, **reader_options)
    try:
        value = strategy(reader, symbol, **params)
    except Exception as e:
        raise TaskFailed(f"strategy failed for {symbol} {params}: {type(e).__name__}: {e}") from e
    return _result_columns(value, params)


def _result_columns(value, params):
    if isinstance(value, dict):
        clash = sorted(set(value) & (set(params) | {"symbol"}))
        if clash:
            raise TaskFailed(f"the strategy's result names {clash}, which are already the symbol or a parameter")
        return dict(value)
    return {"result": value}


# ---- strategies given as files ---------------------------------------------------------------

_compiled = {}  # _ShippedStrategy.key -> function, per process
_compiled_lock = threading.Lock()


class _ShippedStrategy:
    """A strategy that travels to the workers as bytes (self.key names them) and is turned back
    into a function once per worker process (self._load), then kept in _compiled."""

    def function(self):
        with _compiled_lock:
            fn = _compiled.get(self.key)
            if fn is None:
                fn = _compiled[self.key] = self._load()
            return fn

    def __call__(self, reader, symbol, **params):
        return self.function()(reader, symbol, **params)


class StrategyFile(_ShippedStrategy):
    """A strategy function defined in a Python file, for a cluster whose workers lack the file.

    The source travels with each task (a few KB) and is compiled once per worker process, so the
    workers need no copy of the file and no module of that name on their path. The file is
    compiled here first, so a syntax error or a missing function is reported before any task."""

    def __init__(self, path, name="strategy"):
        self.path = str(path)
        self.name = name
        self.source = Path(path).read_text()
        self.key = hashlib.sha256(self.source.encode()).hexdigest() + ":" + name
        self.function()

    def _load(self):
        namespace = {"__name__": "barstore_strategy", "__file__": self.path}
        exec(compile(self.source, self.path, "exec"), namespace)
        fn = namespace.get(self.name)
        if not callable(fn):
            raise ValueError(f"{self.path}: defines no function {self.name}(reader, symbol, **params)")
        return fn

    def __repr__(self):
        return f"StrategyFile({self.path!r}, {self.name!r})"


class _PickledStrategy(_ShippedStrategy):
    """A strategy function pickled here with cloudpickle and unpickled once per worker process.

    Dask pickles task arguments with pickle first, which sends a function by its module's name; a
    module the workers cannot import by that name (a file loaded by path, a test module) would
    fail there. cloudpickle sends such a module's functions by value instead."""

    def __init__(self, fn):
        import cloudpickle
        module = sys.modules.get(getattr(fn, "__module__", None) or "")
        by_value = module is not None and module.__name__ != "__main__" and not _installed(module)
        if by_value:
            cloudpickle.register_pickle_by_value(module)
        try:
            self.payload = cloudpickle.dumps(fn)
        finally:
            if by_value:
                cloudpickle.unregister_pickle_by_value(module)
        self.key = hashlib.sha256(self.payload).hexdigest()

    def _load(self):
        import cloudpickle
        return cloudpickle.loads(self.payload)


def _installed(module):
    """Whether `module` comes from an installed package (site-packages or the standard library),
    which workers set up like this machine can import too; a file beside a script, a test module
    or one loaded by path is not (cluster workers have no copy of it)."""
    import sysconfig
    path = getattr(module, "__file__", None)
    if not path:
        return False
    roots = {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib", "platstdlib")}
    roots |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    path = os.path.realpath(path)
    return any(path.startswith(os.path.realpath(root) + os.sep) for root in roots)


# ---- parameter grids -------------------------------------------------------------------------

def grid(**axes):
    """Every combination of the axes' values, as parameter dicts: grid(fast=[5, 10], slow=[50])
    -> [{'fast': 5, 'slow': 50}, {'fast': 10, 'slow': 50}]."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(list(axes[n]) for n in names))]


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_grid(text):
    """The --grid syntax: `fast=5..50:5,slow=50..200:25,timeframe=15m|1h`. A range A..B[:STEP]
    includes both ends (STEP 1 by default); `a|b|c` lists values; a single value is one value.
    Numbers become int or float, anything else stays text."""
    axes = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, spec = part.partition("=")
        if not sep or not name.strip() or not spec:
            raise ValueError(f"--grid: '{part}' is not NAME=VALUES (e.g. fast=5..50:5)")
        name = name.strip()
        if name in axes:
            raise ValueError(f"--grid: '{name}' is given twice")
        if ".." in spec:
            lo_text, _, rest = spec.partition("..")
            hi_text, _, step_text = rest.partition(":")
            lo, hi, step = _number(lo_text), _number(hi_text), _number(step_text or "1")
            if not all(isinstance(v, (int, float)) for v in (lo, hi, step)) or step <= 0 or hi < lo:
                raise ValueError(f"--grid: '{part}': a range is LOW..HIGH[:STEP] with LOW <= HIGH and STEP > 0")
            count = int((hi - lo) / step + 1e-9) + 1
            axes[name] = [lo + i * step for i in range(count)]
        else:
            axes[name] = [_number(v) for v in spec.split("|")]
    if not axes:
        raise ValueError("--grid: no parameters given")
    return grid(**axes)


# ---- the sweep -------------------------------------------------------------------------------

def sweep(snapshot, strategy, params, symbols, *, client=None, scheduler=None, workers=None,
          reader_options=None, progress=False):
    """Runs strategy(reader, symbol, **p) for every p in `params` and every symbol, one Dask task
    each; returns a pandas DataFrame, one row per (symbol, p), in the order symbols x params.

    snapshot: a snapshot file (Store.snapshot, `barstore snapshot`) or a store directory, at a
    path every worker can open (its own local copy, or a read-only shared mount).
    strategy: a function or a StrategyFile. A function of an installed package travels by
    reference (the workers need the package); any other (a script, a module beside it, a file
    loaded by path, a notebook cell) by value, with cloudpickle.
    client: a distributed.Client to use; else `scheduler` ('tcp://HOST:8786') to connect to;
    else a LocalCluster of `workers` processes (default: one per core), one thread each, closed
    at the end. reader_options: keyword arguments of barstore.Reader for each task's Reader.
    progress: show Dask's progress bar on stderr (for a terminal).
    A strategy that raises fails the sweep with TaskFailed naming the symbol and parameters."""
    import pandas as pd
    from distributed import Client, LocalCluster, wait
    from distributed import progress as progress_bar

    params = [dict(p) for p in params]
    symbols = [symbols] if isinstance(symbols, str) else list(symbols)
    if not params or not symbols:
        raise ValueError("sweep: no parameter sets or no symbols")
    snapshot = os.path.abspath(snapshot)
    if not os.path.exists(snapshot):  # here at least: workers on other machines are checked by opening
        raise FileNotFoundError(f"sweep: no snapshot at {snapshot}")
    reader_options = dict(reader_options or {})
    if not isinstance(strategy, _ShippedStrategy):
        strategy = _PickledStrategy(strategy)

    owned = []  # what this call started, closed at the end
    if client is None:
        if scheduler is not None:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, dashboard_address=":0")
            owned.append(cluster)
            client = Client(cluster)
        owned.insert(0, client)
    try:
        tasks = [(symbol, p) for symbol in symbols for p in params]
        run = uuid.uuid4().hex[:12]
        futures = client.map(_run_task, [snapshot] * len(tasks), [strategy] * len(tasks),
                             [s for s, _ in tasks], [p for _, p in tasks], [reader_options] * len(tasks),
                             key=[f"barstore-sweep-{run}-{i}" for i in range(len(tasks))], pure=False)
        if progress:
            # Dask's console bar writes to stdout, where the CLI's CSV goes: it belongs on stderr.
            with contextlib.redirect_stdout(sys.stderr):
                progress_bar(futures, multi=False)
        else:
            wait(futures)
        results = client.gather(futures)
    finally:
        for thing in owned:
            thing.close()
    rows = [{"symbol": symbol, **p, **result} for (symbol, p), result in zip(tasks, results)]
    return pd.DataFrame(rows)


# ---- the command line ------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m barstore.dask",
        description="Runs a strategy over a parameter grid and symbols on a Dask cluster, over one snapshot "
                    "(docs/deploy.md). Prints one CSV row per (symbol, parameter set).")
    parser.add_argument("--snapshot", required=True, help="a snapshot file (barstore snapshot) or store directory")
    parser.add_argument("--strategy", required=True,
                        help="FILE.py or FILE.py:NAME, defining NAME(reader, symbol, **params) (default NAME: strategy)")
    parser.add_argument("--grid", required=True, help="parameters: fast=5..50:5,slow=50..200:25,timeframe=15m|1h")
    parser.add_argument("--symbols", required=True, help="A,B,...")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per core)")
    parser.add_argument("--scheduler", default=None, help="an existing cluster's scheduler, tcp://HOST:8786")
    parser.add_argument("--out", default="-", help="where the CSV goes (default stdout)")
    args = parser.parse_args(argv)

    try:
        path, name = args.strategy, "strategy"
        if not path.endswith(".py") and ":" in path:
            path, name = path.rsplit(":", 1)
        strategy = StrategyFile(path, name)
        params = parse_grid(args.grid)
        symbols = [s for s in (x.strip() for x in args.symbols.split(",")) if s]
        if not symbols:
            raise ValueError("--symbols: no symbol given")
        # Opened here too, so a wrong path or symbol is one clear line before a cluster starts.
        if not os.path.exists(args.snapshot):
            raise FileNotFoundError(f"{args.snapshot}: no such snapshot or store")
        known = {s["symbol"] for s in barstore.Store(args.snapshot, read_only=True).list()}
        unknown = [s for s in symbols if s not in known]
        if unknown:
            raise ValueError(f"{args.snapshot}: no series for {', '.join(unknown)} (it has {', '.join(sorted(known))})")
    except (OSError, ValueError, SyntaxError, barstore.Error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    frame = sweep(args.snapshot, strategy, params, symbols, scheduler=args.scheduler, workers=args.workers,
                  progress=sys.stderr.isatty())
    seconds = time.perf_counter() - started
    frame.to_csv(sys.stdout if args.out == "-" else args.out, index=False)
    if sys.stderr.isatty():
        print(f"{len(frame)} backtests in {seconds:.1f} s ({len(frame) / seconds:.1f} per second)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    # Run as `-m barstore.dask`, this file is __main__, whose functions Dask would pickle by value
    # with a fresh copy of its globals per task (one Store opened per task). The imported module
    # is the one the workers import too.
    from barstore.dask import main as imported_main
    sys.exit(imported_main())
