"""Callbacks: thin functions that read inputs, call ``data/`` and hand the results to ``layouts/``."""
