"""Feed parsing in worker processes sized to the machine, so the GIL no longer holds parsing to one core."""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import psutil

from osint_desktop.core.crawl.news import ParsedFeed, parse_feed

log = logging.getLogger(__name__)

# A small feed parses in a millisecond or two: sending it to a process would cost more than that.
INLINE_BELOW_BYTES = 8 * 1024
_PRELOAD = ["osint_desktop.core.crawl.news"]


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_start_method() -> str:
    """spawn, everywhere.

    fork is unsafe beside Qt's and the scheduler's threads, and Python 3.11's forkserver
    does not take the parent's sys.path: its workers could import another installed copy
    of the app. spawn costs a fresh interpreter per worker, once per process lifetime.
    """
    return "spawn"


def _ready() -> int:
    return os.getpid()


def _init_worker(app_pid: int) -> None:
    """Run in each worker: let go of the app's terminal and die with the app.

    Pool workers hold both ends of their queues, so they never see the app vanish
    (kill -9) and would wait forever, keeping its stdout pipe open; a watcher thread
    ends them once the app's process is gone.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    threading.Thread(target=_exit_with, args=(app_pid,), name="parent-watch", daemon=True).start()


def _exit_with(app_pid: int) -> None:
    # psutil, not os.kill(pid, 0): on Windows that call would terminate the app.
    while psutil.pid_exists(app_pid):
        time.sleep(1.0)
    os._exit(0)


class ProcessPoolParser:
    """A drop-in RunOptions.parser: parse_feed runs in a process pool; the fetch thread waits for it.

    Thread-safe. The pool starts on first use and lives until close(). A worker that dies
    (out of memory, a crash in a C extension) costs only the feeds it was parsing: the
    pool is replaced and each of those feeds is tried once more before it is reported.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        inline_below: int = INLINE_BELOW_BYTES,
        start_method: str | None = None,
    ) -> None:
        self.workers = max(1, workers if workers is not None else usable_cpus())
        self.inline_below = inline_below
        self.start_method = start_method or default_start_method()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def __call__(self, body: bytes, origin: str, content_type: str | None = None) -> ParsedFeed:
        """Parse like parse_feed, in a worker process unless the body is tiny or the parser is closed."""
        if len(body) < self.inline_below:
            return parse_feed(body, origin, content_type)
        for attempt in (1, 2):
            pool = self._get_pool()
            if pool is None:
                return parse_feed(body, origin, content_type)
            try:
                future: Future[ParsedFeed] = pool.submit(parse_feed, body, origin, content_type)
            except BrokenProcessPool:
                log.warning("the feed parser pool is broken (attempt %d, %s)", attempt, origin)
                self._replace(pool)
                continue
            except RuntimeError:
                # submit() after close(): the app is shutting down; finish this feed here.
                return parse_feed(body, origin, content_type)
            try:
                # An exception parse_feed raised in the worker (RecursionError on a hostile
                # feed, say) comes back here as itself, for the caller to report.
                return future.result()
            except BrokenProcessPool:
                log.warning("a feed parser process died (attempt %d, %s)", attempt, origin)
                self._replace(pool)
        return ParsedFeed(error="the feed parser process died on this feed twice")

    def warm_up(self) -> None:
        """Start every worker now (they import feedparser), so the first run does not pay for it."""
        pool = self._get_pool()
        if pool is not None:
            futures = [pool.submit(_ready) for _ in range(self.workers * 2)]
            for future in futures:
                future.result()

    def prestart(self) -> None:
        """Start the workers now without waiting for them, so they get ready while feeds download.

        Spawning is quick; a worker's imports (about 0.3 s of CPU each) then overlap the
        fetching instead of delaying the first parse.
        """
        pool = self._get_pool()
        if pool is not None:
            # A broken pool is replaced by the first parse; a closed one parses inline. With
            # spawn, Python starts a worker per task submitted while none is idle: one each.
            with contextlib.suppress(BrokenProcessPool, RuntimeError):
                for _ in range(self.workers):
                    pool.submit(_ready)

    def close(self) -> None:
        """Stop the workers; later calls parse inline."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _get_pool(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._closed:
                return None
            if self._pool is None:
                context = multiprocessing.get_context(self.start_method)
                if self.start_method == "forkserver":
                    context.set_forkserver_preload(_PRELOAD)
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),)
                )
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)


_shared_lock = threading.Lock()
_shared: ProcessPoolParser | None = None


def shared_process_parser(workers: int | None = None) -> ProcessPoolParser:
    """The process's parser pool, shared by overlapping runs (like the per-host politeness)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ProcessPoolParser(workers)
            # Entry points close it in their shutdown; this covers the command line's exit.
            atexit.register(close_shared_parser)
        return _shared


def close_shared_parser() -> None:
    """Stop the shared pool (at shutdown, after the crawls have finished)."""
    global _shared
    with _shared_lock:
        parser, _shared = _shared, None
    if parser is not None:
        parser.close()
