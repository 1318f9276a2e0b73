"""barstore: a memory-mapped on-disk store of OHLCV bars (docs/python.md).

Store and Reader come from barstore._core, the compiled module; barstore.dask runs parameter
sweeps over a snapshot on a Dask cluster (docs/deploy.md) and is imported only when asked for,
so `import barstore` never imports Dask.
"""
from barstore._core import (Bars, CorruptData, Error, InvalidInput, IoError, NotFound, Reader,
                            StorageFull, Store, __version__)

__all__ = ["Bars", "CorruptData", "Error", "InvalidInput", "IoError", "NotFound", "Reader",
           "StorageFull", "Store", "__version__"]

# Their public name, in reprs, help() and pickles (the exceptions already carry it).
for _cls in (Bars, Reader, Store):
    _cls.__module__ = __name__
del _cls
