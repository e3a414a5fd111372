import asyncio

import pytest

from serving.batcher import MicroBatcher


def _echo(calls):
    def predict(texts):
        calls.append(list(texts))
        return [{"text": t} for t in texts]

    return predict


def test_micro_batcher_groups_concurrent_submissions_in_order():
    calls: list[list[str]] = []

    async def run():
        batcher = MicroBatcher(_echo(calls), max_batch=64, wait_ms=30)
        batcher.start()
        results = await asyncio.gather(
            *(batcher.submit([f"t{i}", f"u{i}"]) for i in range(10))
        )
        await batcher.stop()
        return results

    results = asyncio.run(run())

    assert [r[0]["text"] for r in results] == [f"t{i}" for i in range(10)]
    assert [r[1]["text"] for r in results] == [f"u{i}" for i in range(10)]
    assert len(calls) < 10


def test_micro_batcher_respects_max_batch():
    calls: list[list[str]] = []

    async def run():
        batcher = MicroBatcher(_echo(calls), max_batch=4, wait_ms=30)
        batcher.start()
        await asyncio.gather(*(batcher.submit([str(i)]) for i in range(12)))
        await batcher.stop()

    asyncio.run(run())

    assert max(len(c) for c in calls) <= 4
    assert sum(len(c) for c in calls) == 12


def test_micro_batcher_failure_reaches_the_caller_and_worker_survives():
    def flaky(texts):
        if "bad" in texts:
            raise RuntimeError("model broke")
        return [{"text": t} for t in texts]

    async def run():
        batcher = MicroBatcher(flaky, max_batch=8, wait_ms=0)
        batcher.start()
        with pytest.raises(RuntimeError, match="model broke"):
            await batcher.submit(["bad"])
        good = await batcher.submit(["good"])
        await batcher.stop()
        return good

    assert asyncio.run(run()) == [{"text": "good"}]


def test_a_failing_request_fails_alone_not_its_batch_mates():
    calls: list[list[str]] = []

    def predict(texts):
        calls.append(list(texts))
        if "bad" in texts:
            raise RuntimeError("the model cannot read this")
        return [{"text": t} for t in texts]

    async def run():
        batcher = MicroBatcher(predict, max_batch=64, wait_ms=30)
        batcher.start()
        results = await asyncio.gather(
            batcher.submit(["a"]),
            batcher.submit(["bad"]),
            batcher.submit(["b", "c"]),
            return_exceptions=True,
        )
        await batcher.stop()
        return results

    good, failed, also_good = asyncio.run(run())

    assert [r["text"] for r in good] == ["a"]
    assert isinstance(failed, RuntimeError)
    assert [r["text"] for r in also_good] == ["b", "c"]
    assert calls[0] == ["a", "bad", "b", "c"]  # they were batched, then retried


def test_a_lone_request_is_not_held_for_company():
    calls: list[list[str]] = []

    async def run():
        # a wait of a minute: a lone request held for it would time out below
        batcher = MicroBatcher(_echo(calls), max_batch=64, wait_ms=60_000)
        batcher.start()
        for i in range(3):  # one client, one request after another
            await asyncio.wait_for(batcher.submit([f"t{i}"]), timeout=5)
        await batcher.stop()

    asyncio.run(run())

    assert calls == [["t0"], ["t1"], ["t2"]]


def test_requests_that_come_together_still_wait_for_each_other():
    calls: list[list[str]] = []

    async def run():
        batcher = MicroBatcher(_echo(calls), max_batch=64, wait_ms=200)
        batcher.start()
        await asyncio.gather(*(batcher.submit([f"a{i}"]) for i in range(3)))
        # the last call served several: a request now waits for company,
        # and one sent 50 ms later joins it
        first = asyncio.create_task(batcher.submit(["b0"]))
        await asyncio.sleep(0.05)
        await asyncio.gather(first, batcher.submit(["b1"]))
        await batcher.stop()

    asyncio.run(run())

    assert calls == [["a0", "a1", "a2"], ["b0", "b1"]]
