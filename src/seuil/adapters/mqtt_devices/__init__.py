"""MQTT device gateway: panic buttons, emergency call posts and sensors (docs/mqtt.md)."""

from seuil.adapters.mqtt_devices.gateway import (
    GatewayOptions,
    MqttDeviceGateway,
    device_topic,
    gateway_topic,
)
from seuil.adapters.mqtt_devices.payloads import MAX_PAYLOAD, PayloadError, parse_event, parse_state

__all__ = [
    "MAX_PAYLOAD",
    "GatewayOptions",
    "MqttDeviceGateway",
    "PayloadError",
    "device_topic",
    "gateway_topic",
    "parse_event",
    "parse_state",
]
