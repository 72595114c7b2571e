"""Live events to connected screens (the LiveBus port)."""

from seuil.adapters.live.memory_bus import LiveEvent, MemoryLiveBus, Subscription

__all__ = ["LiveEvent", "MemoryLiveBus", "Subscription"]
