"""Script calls of concurrent requests sent to Redis together: one pipeline per turn of the event loop.

Every request makes two script calls (reserve, settle). Sent one by one, each pays redis-py's whole
per-command path (a pooled connection taken and given back, a write, a timed read, its bookkeeping): about
as much CPU as the rest of the limits policy, and under load the largest cost the limits add to a request.
Requests that reach their call in the same turn of the event loop are independent (each script is atomic on
its own), so they can share one round trip: the first call of a turn leads it: it yields once, the calls
made meanwhile join it, and it sends them all as one non-transactional pipeline.

Each caller gets its own reply, or its own error (a script's error answer, such as ``NOSCRIPT``, fails only
that call); a connection failure or a timeout fails every call of the batch, and the limiter then decides
those requests in process. A caller that is cancelled meanwhile is skipped (a cancelled leader hands its
batch to a task). A lone request waits for no one: it yields once and sends, so at low load nothing is
added but one turn of the loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True)
class _Call:
    digest: str
    keys: list[str]
    args: list[Any]
    reply: asyncio.Future[Any]


class ScriptBatcher:
    """Sends the ``EVALSHA`` calls of one event-loop turn as one pipeline on ``client``.

    The first caller of a turn leads: it yields once, so that the callers already scheduled for this turn
    add their calls, then sends the batch itself and hands each caller its answer. No task is started,
    so a lone call costs little more than a plain one."""

    def __init__(self, client: Redis, timeout_s: float) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self._pending: list[_Call] = []
        self.batches = 0  # round trips made, for tests and the benchmark
        self.calls = 0

    async def evalsha(self, digest: str, keys: list[str], args: list[Any]) -> Any:
        """The script's reply for this call (raised: its error, or the batch's connection failure)."""
        call = _Call(digest, keys, args, asyncio.get_running_loop().create_future())
        self._pending.append(call)
        if len(self._pending) > 1:  # this turn's leader sends it
            return await call.reply
        try:
            await asyncio.sleep(0)  # the others of this turn join
        except asyncio.CancelledError:
            self._pending.remove(call)
            if self._pending:  # whoever joined still needs a leader
                self._orphans(self._pending)
            self._pending = []
            raise
        batch, self._pending = self._pending, []
        await self._send(batch, call)
        return call.reply.result()

    def _orphans(self, batch: list[_Call]) -> None:
        """Sends a batch whose leader was cancelled before sending it, from a task of its own."""
        task = asyncio.get_running_loop().create_task(self._send(list(batch), None))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _send(self, batch: list[_Call], leader: _Call | None) -> None:
        self.batches += 1
        self.calls += len(batch)
        try:
            # The socket timeouts bound each read; this bounds the whole batch (a reconnect included).
            async with asyncio.timeout(self.timeout_s * 2):
                replies = await self._round_trip(batch)
        except BaseException as error:  # any failure of the round trip is every caller's
            for call in batch:
                if call is leader and not isinstance(error, Exception):
                    call.reply.cancel()  # the leader's own cancellation: raised below, in its task
                elif not call.reply.done():
                    call.reply.set_exception(_copy(error))
            if not isinstance(error, Exception):
                raise
            return
        for call, reply in zip(batch, replies, strict=True):
            if call.reply.done():
                continue
            if isinstance(reply, Exception):
                call.reply.set_exception(reply)
            else:
                call.reply.set_result(reply)

    async def _round_trip(self, batch: list[_Call]) -> list[Any]:
        from redis.exceptions import ResponseError

        if len(batch) == 1:  # a lone call skips the pipeline's own bookkeeping
            call = batch[0]
            try:
                return [await self.client.evalsha(call.digest, len(call.keys), *call.keys, *call.args)]
            except ResponseError as error:  # the script's error answer: this call's, as in a pipeline
                return [error]
        pipeline = self.client.pipeline(transaction=False)
        for call in batch:
            pipeline.evalsha(call.digest, len(call.keys), *call.keys, *call.args)
        return list(await pipeline.execute(raise_on_error=False))


def _copy(error: BaseException) -> BaseException:
    """The batch's error for one caller: a cancelled flush is a failed call to them, not their cancellation
    (their own task was not cancelled), so it becomes a ``ConnectionError`` the limiter handles."""
    if isinstance(error, asyncio.CancelledError):
        return ConnectionError("the Redis batch was cancelled")
    return error
