"""Door adapters: a simulated door, an HTTP relay and an MQTT command topic.

Each implements :class:`seuil.ports.doors.Door`; ``bootstrap`` picks one per door from
the site configuration. They are imported from their modules (``http_relay`` needs
httpx, ``mqtt_door`` needs paho-mqtt), so this package imports nothing itself.
"""
