"""`seuil bench incidents` end to end on tiny numbers (the real run is in docs/benchmarks.md)."""

from __future__ import annotations

from seuil.cli.bench_incidents import print_incidents_report, run_incidents_bench


def test_bench_counts_every_message_and_prints_a_table(broker: tuple[str, int]) -> None:
    report = run_incidents_bench(
        sia_messages=40, connections=2, mqtt_events=30, sinks=("sqlite",), broker=broker
    )
    (sia,) = report["sia"]
    assert (sia["messages"], sia["acked"], sia["rejected"]) == (40, 40, {})
    assert 0 < sia["ack_p50_ms"] <= sia["ack_p99_ms"]
    (mqtt,) = report["mqtt"]
    assert (mqtt["events"], mqtt["stored"], mqtt["rejected"]) == (30, 30, {})
    lines: list[str] = []
    print_incidents_report(report, lines.append)
    assert any(line.startswith("sqlite") for line in lines)
    assert "targets: >= 500 msg/s with ACK, ACK p99 <= 50 ms" in lines


def test_bench_through_the_real_engine_waits_until_it_applied_everything(
    broker: tuple[str, int],
) -> None:
    report = run_incidents_bench(
        sia_messages=40, connections=2, mqtt_events=30, sinks=("incidents",), broker=broker
    )
    (sia,) = report["sia"]
    assert (sia["messages"], sia["acked"], sia["rejected"]) == (40, 40, {})
    assert 0 < sia["applied_per_second"] <= sia["per_second"]
    (mqtt,) = report["mqtt"]
    assert (mqtt["events"], mqtt["stored"]) == (30, 30)
    assert 0 < mqtt["applied_per_second"] <= mqtt["per_second"]
