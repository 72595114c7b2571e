"""Adapters: everything with a vendor or a wire (video files, cameras, storage, devices)."""
