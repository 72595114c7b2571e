"""The site's side of the link to the regional hub: forwarder, secret and token files."""

from seuil.adapters.hub_link.forwarder import HubForwarder, LinkError, LinkOptions, LinkStatus

__all__ = ["HubForwarder", "LinkError", "LinkOptions", "LinkStatus"]
