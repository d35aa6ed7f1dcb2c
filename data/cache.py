"""The shared flask-caching instance, configured from ``EQIAN_CACHE_URL``.

``simple`` (the default) keeps results in the process; ``redis://host:port/db`` shares them between
worker processes and hosts. Cached functions take only hashable, repr-stable arguments (ISO dates,
strings, tuples), so keys are the same in every worker.
"""

from __future__ import annotations

from flask_caching import Cache

cache = Cache()


def cache_config(url: str, timeout: int) -> dict:
    """flask-caching settings for a cache URL."""
    if url in ("", "simple", "memory"):
        return {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": timeout, "CACHE_THRESHOLD": 2000}
    if url == "null":
        return {"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url, "CACHE_DEFAULT_TIMEOUT": timeout,
                "CACHE_KEY_PREFIX": "eqian:"}
    raise ValueError(f"EQIAN_CACHE_URL={url!r}: use 'simple', 'null' or a redis:// URL")


def init_app(app) -> None:
    """Bind the cache to a Flask app from its EQIAN_CACHE_URL."""
    cache.init_app(app, config=cache_config(app.config["EQIAN_CACHE_URL"], app.config["EQIAN_CACHE_TIMEOUT"]))
