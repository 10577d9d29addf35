"""Fit Auckland's pedestrian counts in memory: forecasts with intervals, a backtest, the guarantee."""
import polars as pl

from dpforecast import BiGRU, DPForecast, InputPerturbation, Persistence, Ridge, SeasonalNaive, read_counts

df = read_counts("auckland").filter(pl.col("ds").dt.year() == 2025)  # unique_id, ds, y: the last year
models = [BiGRU(units=32, epochs=3), Ridge(), SeasonalNaive("1d"), Persistence()]
fc = DPForecast(models, h="1d", window="1d", dataset="auckland", privacy=InputPerturbation(epsilon=1, unit="event"))
print(fc.fit(df).predict().select("unique_id", "ds", "bigru", "bigru-lo-95", "bigru-hi-95"))  # the next day, 95% intervals
cv = fc.cross_validation(df, n_windows=7, step="1d")  # a week of day-ahead origins after one fit
print(cv.select(((pl.col(m.name) - pl.col("y")) ** 2).mean().sqrt() for m in models))  # RMSE on raw counts
print(fc.privacy_report())                            # as charged to Auckland's privacy ledger
