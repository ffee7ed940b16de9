"""The inflate-ahead thread: order kept, producer errors surface, an abandoned consumer stops the producer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.logs.prefetch import prefetch


def test_items_arrive_in_order() -> None:
    assert list(prefetch(range(50), depth=2)) == list(range(50))


def test_producer_error_is_raised_after_what_it_produced() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"
        yield b"b"
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for c in prefetch(chunks()):
            got.append(c)
    assert got == [b"a", b"b"]


def test_abandoning_the_consumer_closes_the_producer() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    it = prefetch(endless(), depth=1)
    assert next(it) == 0
    it.close()  # joins the producer thread, which closed its generator
    assert closed.is_set()
