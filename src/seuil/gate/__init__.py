"""The per-gate pipeline: frames -> credential -> face -> liveness -> decision -> door -> event."""
