"""The lead scorer (fit + interest models, calibration, policy, reasons), baselines, pyfunc."""
