"""Layouts: pure functions that return Dash components."""
