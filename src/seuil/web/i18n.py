"""French first, English second: the language of a request and the pair picker.

Every user-facing text is written as a pair ``tr(request, "français", "English")`` (the
same convention as the CLI's ``t``), so French is never missing. The language comes from
the ``lang`` cookie (set by the switch in the page header), else from Accept-Language.
"""

from __future__ import annotations

from starlette.requests import Request

LANGS = ("fr", "en")
COOKIE = "lang"


def language(request: Request) -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGS:
        return chosen
    header = request.headers.get("accept-language", "")
    best, best_q = "fr", -1.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        if code not in LANGS:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = code, q
    return best


def tr(request: Request, fr: str, en: str) -> str:
    return en if language(request) == "en" else fr
