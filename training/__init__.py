"""Pipelines: train, evaluate, register, report, sign off, promote, roll back."""
