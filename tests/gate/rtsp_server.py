"""A real RTSP camera for tests: GStreamer's RTSP server (Debian's gst-rtsp-server).

Run with the *system* Python, which has the GObject bindings (the project's virtualenv
does not)::

    /usr/bin/python3 tests/gate/rtsp_server.py PORT [USER PASSWORD]

It serves a live test pattern as MJPEG over RTP (640x360, 15 fps) at
``rtsp://127.0.0.1:PORT/cam`` on the loopback interface only, requires basic
authentication when USER and PASSWORD are given, prints ``ready`` once it listens, and
runs until killed. Debian packages: python3-gi gir1.2-gst-rtsp-server-1.0
gstreamer1.0-plugins-base gstreamer1.0-plugins-good.
"""

from __future__ import annotations

import sys

import gi  # type: ignore[import-not-found]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-not-found]  # noqa: E402

PIPELINE = (
    "( videotestsrc is-live=true pattern=ball "
    "! video/x-raw,format=I420,width=640,height=360,framerate=15/1 "
    "! jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26 )"
)


def main(argv: list[str]) -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(argv[1])
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE)
    factory.set_shared(True)
    if len(argv) >= 4:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "camera-user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(argv[2], argv[3]), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("camera-user", "media.factory.access", True)
        permissions.add_permission_for_role("camera-user", "media.factory.construct", True)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{argv[1]}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main(sys.argv)
