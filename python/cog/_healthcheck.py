"""The user's ``healthcheck()``, run off the prediction path with a timeout.

A sync healthcheck (or an async one of a sync predictor) runs on a thread of its own;
an async one of an async predictor runs as a task on the predictor's loop.
"""

import inspect
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from ._emit import error_text

if TYPE_CHECKING:
    import asyncio

HEALTHCHECK_TIMEOUT = 5.0
TIMEOUT_ERROR = "Healthcheck failed: user-defined healthcheck timed out after {} seconds".format(
    HEALTHCHECK_TIMEOUT
)

Send = Callable[[Dict[str, Any]], None]


def healthcheck_result(hid: str, value: Any = None, error: Optional[str] = None) -> Dict[str, Any]:
    """The healthcheck_result message for a return value or an error text."""
    if error is None and value is False:
        error = "Healthcheck failed: user-defined healthcheck returned False"
    if error is not None:
        return {"type": "healthcheck_result", "id": hid, "status": "unhealthy", "error": error}
    return {"type": "healthcheck_result", "id": hid, "status": "healthy"}


def start_healthcheck(hid: str, hc: Optional[Callable[[], Any]], send: Send,
                      loop: "Optional[asyncio.AbstractEventLoop]") -> None:
    """Answer ``healthcheck`` ``hid`` (at once when there is no user healthcheck).

    ``loop`` is the async predictor's loop (None for a sync predictor).
    """
    if hc is None:
        send(healthcheck_result(hid))
        return
    is_async = inspect.iscoroutinefunction(getattr(hc, "__func__", hc))
    if is_async and loop is not None:
        loop.call_soon_threadsafe(lambda: loop.create_task(_async_healthcheck(hid, hc, send)))
        return
    threading.Thread(target=_sync_healthcheck, args=(hid, hc, is_async, send), daemon=True).start()


def _sync_healthcheck(hid: str, hc: Callable[[], Any], is_async: bool, send: Send) -> None:
    outcome: List[Any] = []

    def call() -> None:
        try:
            if is_async:
                import asyncio

                value = asyncio.run(hc())
            else:
                value = hc()
            outcome.append(healthcheck_result(hid, value))
        except BaseException as err:  # noqa: BLE001
            outcome.append(healthcheck_result(
                hid, error="Healthcheck failed: {}".format(error_text(err))))

    runner = threading.Thread(target=call, name="cog-healthcheck", daemon=True)
    runner.start()
    runner.join(HEALTHCHECK_TIMEOUT)
    if outcome:
        send(outcome[0])
    else:
        send(healthcheck_result(hid, error=TIMEOUT_ERROR))


async def _async_healthcheck(hid: str, hc: Callable[[], Any], send: Send) -> None:
    import asyncio

    try:
        value = await asyncio.wait_for(hc(), HEALTHCHECK_TIMEOUT)
        send(healthcheck_result(hid, value))
    except asyncio.TimeoutError:
        send(healthcheck_result(hid, error=TIMEOUT_ERROR))
    except BaseException as err:  # noqa: BLE001
        send(healthcheck_result(hid, error="Healthcheck failed: {}".format(error_text(err))))
