"""Indicators (Kennzahlen, Wirkungsindikatoren): definitions, values, data requests, series."""
