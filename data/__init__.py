"""The data layer: schema, queries and metrics. Knows nothing of Dash."""
