"""get_historical_prices(asset, length, timestep) in the shape of the reference design's data
source (its `PolarsData.get_historical_prices`), backed by a barstore.Reader
(docs/python.md, "get_historical_prices").

    data = BarstoreData(barstore.Store("/path/to/db", read_only=True))
    data.now = "2022-01-10T12:00"                       # the backtest clock, moved by the loop
    bars = data.get_historical_prices("BTC", 200, "minute")
    bars.pandas_df                                      # pandas built on first use, then kept

The answer is the last `length` bars closed by `now`: the forming bar is never included, so a
strategy cannot see the future. It equals Store.query(asset, timeframe=timestep, last=length,
as_of=now) (tests/python/test_examples.py checks it against that and the CLI).
"""
import barstore


class HistoricalBars:
    """What get_historical_prices returns: the numpy columns at once, pandas when asked.
    Its data is a copy (a Reader's answer is copied out of its cache): later calls never change it."""

    def __init__(self, asset, timestep, bars):
        self.asset, self.timestep, self.bars = asset, timestep, bars
        self._df = None

    def __len__(self):
        return len(self.bars)

    @property
    def pandas_df(self):
        """open/high/low/close/volume by a UTC DatetimeIndex of bar starts, built once."""
        if self._df is None:
            self._df = self.bars.to_pandas()
        return self._df

    df = pandas_df  # the name the reference design's Bars entity also answers to

    def get_last_price(self):
        return float(self.bars.close[-1]) if len(self.bars) else None


class BarstoreData:
    """A backtest data source: one Reader (its window, aggregate memo and byte budget replace the
    reference design's trimming and LRU) and the backtest's clock, `now`."""

    def __init__(self, store, now=None, **reader_options):
        self.reader = barstore.Reader(store, **reader_options)
        self.now = now

    def get_historical_prices(self, asset, length, timestep="minute"):
        """The last `length` bars of `asset` at `timestep` ("minute", "5 minutes", "hour", "day",
        "15m", ...) closed by `self.now`, oldest first."""
        if self.now is None:
            raise ValueError("set BarstoreData.now (the backtest's current time) first")
        return HistoricalBars(asset, timestep, self.reader.bars(asset, timestep, length, self.now))

    def get_last_price(self, asset):
        """The close of the last 1-minute bar ended by `now`, or None before the first."""
        return self.reader.last_price(asset, self.now)
