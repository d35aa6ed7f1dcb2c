"""The shared flask-caching instance, configured from ``EQIAN_CACHE_URL``.

``simple`` (the default) keeps results in the process; ``redis://host:port/db`` shares them between
worker processes and hosts. Cached functions take only hashable, repr-stable arguments (ISO dates,
strings, tuples), so keys are the same in every worker.

A Redis that goes away is an outage of the cache, not of the app: ``ResilientRedisCache`` answers "not
cached" while Redis is unreachable, so every screen keeps getting correct (freshly computed) figures, says
so once in the log, and uses Redis again when it is back.
"""

from __future__ import annotations

import logging
import threading
import time

from flask_caching import Cache
from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

cache = Cache()

# A Redis on the same network answers in well under a millisecond: a dead or unreachable one must not
# hold a request for redis-py's default 5 s per call. A cache URL may still set its own
# (redis://host:6379/0?socket_timeout=2): the URL's query wins over these.
# A frame of several hundred kB on a loaded 2-core host took over a second once (load test): 2 s for replies.
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 2.0}
REDIS_OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError)


class ResilientRedisCache(RedisCache):
    """flask-caching's ``RedisCache`` for which an unreachable Redis is a cache miss, not an error.

    flask-caching alone already falls back to calling the function when the backend raises, but it logs a
    traceback for every cache call (several per request), re-raises in debug mode, and a Redis that does
    not answer costs a socket timeout on each of those calls. Here a connection or timeout error turns
    every operation into a miss (reads) or a no-op (writes) for ``retry_seconds``; then the next call
    tries Redis again. The first failure of an outage logs one warning per process; the first success
    after it logs that Redis is back.
    """

    retry_seconds = 5.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._state_lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0
        pool_kwargs = getattr(getattr(self._write_client, "connection_pool", None), "connection_kwargs", {})
        self.where = (pool_kwargs.get("path") or f"{pool_kwargs.get('host', '?')}:{pool_kwargs.get('port', '?')}"
                      f"/{pool_kwargs.get('db', 0)}")

    @property
    def available(self) -> bool:
        """False during an outage (until the next successful call)."""
        return self._down_since is None

    def _guard(self, operation, miss, *args):
        if self._down_since is not None and time.monotonic() < self._retry_at:
            return miss
        try:
            result = operation(*args)
        except REDIS_OUTAGE_ERRORS as exc:
            self._failed(exc)
            return miss
        if self._down_since is not None:
            self._recovered()
        return result

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._state_lock:
            self._retry_at = now + self.retry_seconds
            if self._down_since is not None:
                return
            self._down_since = now
        log.warning("Redis cache at %s unreachable (%s: %s): serving without the cache, retrying every %g s",
                    self.where, exc.__class__.__name__, exc, self.retry_seconds)

    def _recovered(self) -> None:
        with self._state_lock:
            if self._down_since is None:
                return
            outage, self._down_since = time.monotonic() - self._down_since, None
        log.warning("Redis cache at %s is back after %.0f s: using it again", self.where, outage)

    # Every operation cachelib's RedisCache and flask-caching's memoize use, with its "nothing there" answer.
    def get(self, key):
        return self._guard(super().get, None, key)

    def get_many(self, *keys):
        return self._guard(super().get_many, [None] * len(keys), *keys)

    def has(self, key):
        return self._guard(super().has, False, key)

    def set(self, key, value, timeout=None):
        return self._guard(super().set, False, key, value, timeout)

    def add(self, key, value, timeout=None):
        return self._guard(super().add, False, key, value, timeout)

    def set_many(self, mapping, timeout=None):
        return self._guard(super().set_many, [], mapping, timeout)

    def delete(self, key):
        return self._guard(super().delete, False, key)

    def delete_many(self, *keys):
        return self._guard(super().delete_many, [], *keys)

    def unlink(self, *keys):
        return self._guard(super().unlink, None, *keys)

    def clear(self):
        return self._guard(super().clear, False)

    def inc(self, key, delta=1):
        return self._guard(super().inc, None, key, delta)

    def set_for_ms(self, key, value, milliseconds: int):
        """Set ``key`` with an expiry in milliseconds (Redis ``PX``): shared values fresher than a second."""
        def set_px():
            return self._write_client.set(name=f"{self._get_prefix()}{key}", value=self.serializer.dumps(value),
                                          px=int(milliseconds))
        return self._guard(set_px, False)

    def dec(self, key, delta=1):
        return self._guard(super().dec, None, key, delta)


def cache_config(url: str, timeout: int) -> dict:
    """flask-caching settings for a cache URL."""
    if url in ("", "simple", "memory"):
        return {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": timeout, "CACHE_THRESHOLD": 2000}
    if url == "null":
        return {"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"CACHE_TYPE": f"{__name__}.{ResilientRedisCache.__name__}", "CACHE_REDIS_URL": url,
                "CACHE_DEFAULT_TIMEOUT": timeout, "CACHE_KEY_PREFIX": "eqian:", "CACHE_OPTIONS": dict(REDIS_TIMEOUTS)}
    raise ValueError(f"EQIAN_CACHE_URL={url!r}: use 'simple', 'null' or a redis:// URL")


def init_app(app) -> None:
    """Bind the cache to a Flask app from its EQIAN_CACHE_URL."""
    cache.init_app(app, config=cache_config(app.config["EQIAN_CACHE_URL"], app.config["EQIAN_CACHE_TIMEOUT"]))


def backend(app):
    """The cache backend object bound to ``app`` (a ``ResilientRedisCache`` for a redis:// URL)."""
    return app.extensions["cache"][cache]
