"""The in-process live bus: fan-out, topics, threads, slow screens, resume."""

from __future__ import annotations

import asyncio
import threading

from seuil.adapters.live import MemoryLiveBus


def test_fan_out_to_every_subscriber_of_the_topic() -> None:
    async def main() -> None:
        bus = MemoryLiveBus()
        async with bus.subscribe(["gate"]) as gates, bus.subscribe(["incident"]) as incidents:
            bus.publish("gate.decision", {"decision": "grant"})
            bus.publish("incident.opened", {"id": "i1"})
            g = await gates.get(1)
            i = await incidents.get(1)
            assert g is not None and g.topic == "gate.decision"
            assert g.payload == {"decision": "grant"}
            assert i is not None and i.topic == "incident.opened"
            assert await gates.get(0.05) is None  # nothing else for the gate screen
        assert bus.subscribers == 0

    asyncio.run(main())


def test_publish_from_other_threads_arrives_in_order() -> None:
    async def main() -> None:
        bus = MemoryLiveBus(queue_size=1000)
        async with bus.subscribe() as sub:
            t = threading.Thread(
                target=lambda: [bus.publish("gate.decision", {"n": n}) for n in range(200)]
            )
            t.start()
            got = [await sub.get(2) for _ in range(200)]
            t.join()
        assert [e.payload["n"] for e in got if e] == list(range(200))

    asyncio.run(main())


def test_a_slow_screen_loses_the_oldest_events_and_is_told() -> None:
    async def main() -> None:
        bus = MemoryLiveBus(queue_size=3)
        async with bus.subscribe() as sub:
            for n in range(10):
                bus.publish("gate.decision", {"n": n})
            await asyncio.sleep(0.01)
            got = [await sub.get(1) for _ in range(3)]
        assert [e.payload["n"] for e in got if e] == [7, 8, 9]
        assert got[0] is not None and got[0].dropped == 7

    asyncio.run(main())


def test_a_reconnecting_screen_resumes_after_its_last_event() -> None:
    async def main() -> None:
        bus = MemoryLiveBus()
        for n in range(5):
            bus.publish("gate.decision", {"n": n})
        async with bus.subscribe(after=3) as sub:
            e = await sub.get(1)
            assert e is not None and e.payload == {"n": 3} and e.id == 4
            e = await sub.get(1)
            assert e is not None and e.id == 5

    asyncio.run(main())


def test_a_subscriber_whose_loop_ended_does_not_break_publishing() -> None:
    bus = MemoryLiveBus()

    async def leave_open() -> None:
        bus.subscribe()  # never closed: its loop ends with asyncio.run

    asyncio.run(leave_open())
    bus.publish("gate.decision", {"n": 1})  # no exception
    bus.publish("gate.decision", {"n": 2})


def test_a_synchronous_listener_hears_every_topic_and_cannot_break_publishing() -> None:
    bus = MemoryLiveBus()
    heard: list[tuple[str, object]] = []
    remove = bus.listen(lambda topic, payload: heard.append((topic, payload.get("n"))))
    bus.listen(lambda topic, payload: 1 / 0)  # a broken listener is logged, not raised
    bus.publish("incident", {"n": 1})
    remove()
    bus.publish("incident", {"n": 2})
    assert heard == [("incident", 1)]


def test_a_screen_resumes_only_from_ids_the_history_still_covers() -> None:
    async def main() -> None:
        bus = MemoryLiveBus(history=4)
        assert bus.origin != MemoryLiveBus().origin  # one per bus, that is per process
        for n in range(10):  # ids 1..10; the history keeps 7..10
            bus.publish("gate.decision", {"n": n})
        async with bus.subscribe(after=6) as sub:
            assert sub.complete and sub.position == 10
            e = await sub.get(1)
            assert e is not None and e.id == 7
        for after in (5, 11, -1):  # 6 is forgotten; 11 was never issued here
            async with bus.subscribe(after=after) as sub:
                assert not sub.complete and sub.position == 10
                assert await sub.get(0.05) is None  # no partial or foreign replay
        async with bus.subscribe(after=10) as sub:
            assert sub.complete and await sub.get(0.05) is None
        async with bus.subscribe() as sub:
            assert sub.complete
        async with MemoryLiveBus().subscribe(after=0) as sub:
            assert sub.complete  # nothing published yet, nothing missed

    asyncio.run(main())
