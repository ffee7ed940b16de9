"""Run a chunk producer (zip inflate + CRC) in a thread while the caller parses the previous chunk.

zlib and file reads release the GIL, so on two cores inflating a 200 MB member mostly hides behind the
parser. At most `depth` chunks wait in between, so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")


def prefetch(items: Iterable[T], depth: int = 2) -> Generator[T, None, None]:
    """Yields `items` in order, produced ahead in a daemon thread; the producer's exception is re-raised."""
    q: queue.Queue[tuple[T] | None] = queue.Queue(maxsize=depth)  # None: the producer is done
    stop = threading.Event()
    failure: list[BaseException] = []

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put((item,), timeout=0.1)  # wakes up to see an abandoned consumer
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, which re-raises it
            failure.append(exc)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
            if not stop.is_set():
                q.put(None)

    worker = threading.Thread(target=produce, name="log-prefetch", daemon=True)
    worker.start()
    try:
        while (box := q.get()) is not None:
            yield box[0]
        if failure:
            raise failure[0]
    finally:
        stop.set()  # an abandoned consumer: let the producer notice and finish
        worker.join()
