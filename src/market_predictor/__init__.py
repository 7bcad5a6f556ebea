"""Market Price Predictor: next-day closing price forecasts that run themselves."""

__version__ = "0.1.0"
