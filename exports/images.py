"""Static images of Plotly figures (PNG at print resolution, SVG with text kept as text), made offline.

kaleido 1.x drives Debian's Chromium: starting a browser costs 2–4 s, an image on a running one about
0.3 s. So one long-lived browser renders every image of the process: it starts lazily on the first image,
on its own event-loop thread, is safe to call from any number of request threads (kaleido hands its tabs
out one render at a time), and is replaced when it has died. If it cannot be (re)started, each image
starts its own browser instead (slow, but the download still works). MathJax is off, which also keeps
the browser from asking a CDN for it; nothing here makes an outside request.

Every figure gets a CJK font family (WenQuanYi Micro Hei first, installed by fonts-wqy-microhei) unless it
names one, so Chinese renders as glyphs, not boxes; in SVG it stays ``<text>`` that a reader can select.

Before the first image, ``check_requirements`` makes sure both exist: without a Chromium, or without any font
that covers Chinese (``fc-list :lang=zh``), an export fails at once with an ExportError that names what is
missing and the command that installs it (``make run`` installs both), never with a traceback or with boxes.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CJK_FONT_NAMES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC")
CJK_FONT_FAMILY = ", ".join(f'"{name}"' for name in CJK_FONT_NAMES) + ", sans-serif"
DEFAULT_WIDTH = 1000  # CSS pixels of the figure's layout
DEFAULT_HEIGHT = 450
PRINT_SCALE = 2  # 1000 px × 2 = 2000 px: 300 dpi across a 17 cm A4 text column
START_TIMEOUT = 60.0  # seconds for the browser to come up
RENDER_TIMEOUT = 60.0  # seconds for one image
FORMATS = ("png", "svg", "pdf")


class ExportError(RuntimeError):
    """An image could not be made; the message says why."""


# --- what the images need on this machine ------------------------------------------------------------------

BROWSER_PATH_ENV = "BROWSER_PATH"  # kaleido's browser library (choreographer) starts the Chromium it names
FONT_FILE_GLOBS = ("wqy*", "*[Nn]oto*CJK*", "*SourceHan*", "uming*", "ukai*", "*[Dd]roid*Fallback*")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
_READY = threading.Event()  # both were found once: not looked for again (an install in between needs no restart)


def chromium_path() -> str | None:
    """The Chromium kaleido would start (BROWSER_PATH, else chromium or chrome on PATH or in /usr/bin), if it exists."""
    from choreographer.browsers.chromium import Chromium  # noqa: PLC0415 - kaleido's own lookup

    path = Chromium.find_browser(skip_local=False)
    return path if path and Path(path).is_file() else None


def chinese_fonts() -> list[str]:
    """Fonts installed that cover Chinese: ``fc-list :lang=zh`` (as Chromium's fontconfig sees them), else font
    files with a known CJK name in the usual font folders when fc-list itself is missing."""
    if shutil.which("fc-list"):
        try:
            listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=20,
                                    check=False).stdout
        except (OSError, subprocess.SubprocessError):
            listed = ""
        return sorted({line.strip() for line in listed.splitlines() if line.strip()})
    found = set()
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if root.is_dir():
            found.update(p.name for pattern in FONT_FILE_GLOBS for p in root.rglob(pattern) if p.is_file())
    return sorted(found)


def missing_requirements() -> list[tuple[str, str]]:
    """What chart images lack on this machine: (what, with the reason; the Debian package that installs it)."""
    missing = []
    if chromium_path() is None:
        named = os.environ.get(BROWSER_PATH_ENV)
        missing.append((f"Chromium ({BROWSER_PATH_ENV}={named!r} is not a file)" if named
                        else "Chromium (none on PATH or in /usr/bin)", "chromium"))
    if not chinese_fonts():
        missing.append(("a Chinese font (fc-list :lang=zh lists none, so Chinese text would be drawn as boxes)",
                        "fonts-wqy-microhei"))
    return missing


def check_requirements() -> None:
    """Raise an ExportError naming what chart images lack and how to install it; once found, not checked again."""
    if _READY.is_set():
        return
    missing = missing_requirements()
    if not missing:
        _READY.set()
        return
    packages = [package for _what, package in missing]
    hint = f" (or point {BROWSER_PATH_ENV} at a Chromium)" if "chromium" in packages else ""
    raise ExportError(f"chart images need {' and '.join(what for what, _p in missing)}: install with "
                      f"`sudo apt-get install {' '.join(packages)}`{hint}; `make run` installs both")


def print_ready(fig, width: int | None = None, height: int | None = None) -> dict:
    """The figure as a plain dict with a CJK font family and a fixed size (the input is left alone)."""
    spec = copy.deepcopy(fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else dict(fig))
    layout = spec.setdefault("layout", {})
    font = layout.setdefault("font", {})
    template_font = ((layout.get("template") or {}).get("layout") or {}).get("font") or {}
    family = font.get("family") or template_font.get("family") or ""
    if not any(name in family for name in CJK_FONT_NAMES):
        family = f"{family}, {CJK_FONT_FAMILY}" if family else CJK_FONT_FAMILY
    font["family"] = family
    layout["width"] = int(width or layout.get("width") or DEFAULT_WIDTH)
    layout["height"] = int(height or layout.get("height") or DEFAULT_HEIGHT)
    layout.pop("autosize", None)
    return spec


def _opts(spec: dict, fmt: str, scale: float) -> dict:
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; use one of {', '.join(FORMATS)}")
    return {"format": fmt, "width": spec["layout"]["width"], "height": spec["layout"]["height"],
            "scale": scale if fmt == "png" else 1}


class ImageServer:
    """One Chromium (through kaleido) on a background event loop, started on first use."""

    def __init__(self, tabs: int = 1):
        self._tabs = tabs
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido = None
        self.starts = 0  # how many browsers this server has started (tests and logs)

    # -- life cycle --------------------------------------------------------------------------------
    def running(self) -> bool:
        """Whether the browser is up (its loop thread runs and its process has not exited)."""
        if self._kaleido is None or self._thread is None or not self._thread.is_alive():
            return False
        process = getattr(self._kaleido, "subprocess", None)
        return process is None or process.poll() is None

    def _ensure(self) -> None:
        with self._lock:
            if self.running():
                return
            self._stop_locked()
            self._start_locked()

    def _start_locked(self) -> None:
        import kaleido  # noqa: PLC0415 - ~30 ms to import (measured), only when an image is wanted

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="kaleido-server", daemon=True)
        thread.start()

        async def open_browser():
            k = kaleido.Kaleido(n=self._tabs, timeout=RENDER_TIMEOUT, mathjax=False)
            await k.open()
            return k

        started = time.monotonic()
        try:
            self._kaleido = asyncio.run_coroutine_threadsafe(open_browser(), loop).result(START_TIMEOUT)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            raise
        self._loop, self._thread = loop, thread
        self.starts += 1
        log.info("image browser started in %.1fs", time.monotonic() - started)

    def _stop_locked(self) -> None:
        loop, k, thread = self._loop, self._kaleido, self._thread
        self._loop = self._kaleido = self._thread = None
        if loop is None:
            return
        process = getattr(k, "subprocess", None)
        if k is not None and thread is not None and thread.is_alive() and (process is None or process.poll() is None):
            try:
                asyncio.run_coroutine_threadsafe(k.close(), loop).result(15)
            except Exception as exc:  # noqa: BLE001 - a wedged browser may fail to close; it is killed below
                log.debug("closing the image browser: %s", exc)
        if process is not None and process.poll() is None:
            process.kill()
        tmp = getattr(k, "_html_tmp_dir", None)  # kaleido's page folder, which close() would have removed
        if tmp is not None:
            try:
                tmp.clean()
            except Exception:  # noqa: BLE001
                pass
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)

    def stop(self) -> None:
        """Close the browser (it starts again on the next image)."""
        with self._lock:
            self._stop_locked()

    # -- rendering ---------------------------------------------------------------------------------
    def render(self, spec: dict, opts: dict) -> bytes:
        """One image on the running browser (started if needed)."""
        return self.render_many([(spec, opts)])[0]

    def render_many(self, jobs: list[tuple[dict, dict]]) -> list[bytes]:
        """Several images at once on the running browser, in order."""
        self._ensure()
        loop, k = self._loop, self._kaleido

        async def batch():
            return await asyncio.gather(*(k.calc_fig(spec, opts=opts) for spec, opts in jobs))

        return list(asyncio.run_coroutine_threadsafe(batch(), loop).result(RENDER_TIMEOUT * max(1, len(jobs))))


_server = ImageServer()
atexit.register(_server.stop)


def server() -> ImageServer:
    """The process's image server."""
    return _server


def _render_alone(spec: dict, opts: dict) -> bytes:
    """One image with a browser of its own (the fallback: about 3–4 s)."""
    import kaleido  # noqa: PLC0415

    result: dict[str, Any] = {}

    def run():
        try:
            result["bytes"] = asyncio.run(kaleido.calc_fig(spec, opts=opts, kopts={"mathjax": False}))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=run, name="kaleido-oneshot", daemon=True)
    thread.start()
    thread.join(START_TIMEOUT + RENDER_TIMEOUT)
    if "error" in result:
        raise ExportError(f"image export failed: {result['error']}") from result["error"]
    if "bytes" not in result:
        raise ExportError("image export timed out")
    return result["bytes"]


def render_images(figures: Mapping[str, Any], fmt: str = "png", scale: float = PRINT_SCALE,
                  sizes: Mapping[str, tuple[int, int]] | None = None) -> dict[str, bytes]:
    """Images of several figures {name: figure} in one batch on the shared browser."""
    sizes = sizes or {}
    specs = {name: print_ready(fig, *sizes.get(name, (None, None))) for name, fig in figures.items()}
    jobs = [(spec, _opts(spec, fmt, scale)) for spec in specs.values()]
    if not jobs:
        return {}
    check_requirements()
    try:
        images = _server.render_many(jobs)
    except Exception as exc:  # noqa: BLE001 - a dead or wedged browser: restart next time, go one by one now
        log.warning("image server failed (%s: %s); rendering each image with its own browser",
                    exc.__class__.__name__, exc)
        _server.stop()
        images = [_render_alone(spec, opts) for spec, opts in jobs]
    return dict(zip(specs, (_as_bytes(i) for i in images), strict=True))  # one image per job, in order


def _as_bytes(image) -> bytes:
    return image.encode("utf-8") if isinstance(image, str) else bytes(image)


def to_png(fig, width: int | None = None, height: int | None = None, scale: float = PRINT_SCALE) -> bytes:
    """A PNG of the figure, ``width × scale`` pixels wide (2000 px by default: print resolution)."""
    return render_images({"figure": fig}, "png", scale, {"figure": (width, height)})["figure"]


def to_svg(fig, width: int | None = None, height: int | None = None) -> bytes:
    """An SVG of the figure; its text (Chinese included) stays text."""
    return render_images({"figure": fig}, "svg", 1, {"figure": (width, height)})["figure"]


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG read from its header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
