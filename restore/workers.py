"""Many documents on several processes (`restore clean/detect --jobs N`), in input order.

Why processes: most of a document's time is Python (the beam, the lexicon and LM lookups),
which one process runs on one core; only the tagger's matrix products spread over torch's
threads. Each worker builds its own pipeline or detector once, from plain arguments (no model
crosses a process boundary), and gets its share of the cores for torch. Workers are spawned,
not forked: torch's thread pools do not survive a fork.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from restore.errors import RestoreError

T = TypeVar("T")
R = TypeVar("R")

_BUILT: dict[Any, Any] = {}  # per process: the pipeline or detector each job spec built


@dataclass(frozen=True)
class Cleaner:
    """Restores a batch of texts with the pipeline these arguments name (built once per process)."""

    model: str
    threshold: float | None = None
    rewriter: str | None = None
    lm: str | None = None
    nlm: str | None = None
    assume_spun: bool = False

    def pipeline(self):
        if self not in _BUILT:
            from restore.pipeline import Pipeline

            _BUILT[self] = Pipeline(self.model, threshold=self.threshold, rewriter=self.rewriter, lm=self.lm,
                                     nlm=self.nlm, assume_spun=self.assume_spun)
        return _BUILT[self]

    def __call__(self, texts: list[str]) -> list:
        return self.pipeline().run(texts)


@dataclass(frozen=True)
class Flagger:
    """Flags a batch of texts with the detector these arguments name: each text's spans as dicts."""

    model: str
    threshold: float = 0.5
    assume_spun: bool = False

    def detector(self):
        if self not in _BUILT:
            from restore.detect import Detector

            _BUILT[self] = Detector(self.model, threshold=self.threshold, assume_spun=self.assume_spun)
        return _BUILT[self]

    def __call__(self, texts: list[str]) -> list[list[dict]]:
        return [[s.to_dict() for s in spans] for spans in self.detector().detect_many(texts)]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def ordered_map(fn: Callable[[Any], R], items: Iterable[T], jobs: int = 1,
                send: Callable[[T], Any] = lambda item: item) -> Iterator[tuple[T, R]]:
    """(item, fn(send(item))) for each item, in order. With jobs > 1, fn runs in that many
    worker processes, at most two items each in flight, so a long corpus is read as it is
    written; the items stay here and only send(item) travels."""
    if jobs <= 1:
        for item in items:
            yield item, fn(send(item))
        return
    threads = max(1, (os.cpu_count() or 1) // jobs)
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_torch_threads, initargs=(threads,))
    pending: deque[tuple[T, Future]] = deque()
    try:
        for item in items:
            pending.append((item, pool.submit(fn, send(item))))
            if len(pending) >= 2 * jobs:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    except BrokenProcessPool:
        raise RestoreError("a worker process died (out of memory?); try fewer --jobs") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
