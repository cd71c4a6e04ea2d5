"""The security headers on every page Lantern serves (Rasa server, widget script, demo site).

The Rasa server serves JSON, the widget script and the reps' transcript pages: none of
them may be framed, sniffed or leak their URL (a transcript link is a credential) to
another site. The demo site's pages load the widget from the Rasa server, so their
policy allows that one origin for scripts and the WebSocket.
"""

from __future__ import annotations


def security_headers(connect_to: str = "") -> dict[str, str]:
    """Headers for a response; `connect_to` is an origin a page may load scripts from and talk to."""
    extra = f" {connect_to} {connect_to.replace('http', 'ws', 1)}" if connect_to else ""
    script = f" {connect_to}" if connect_to else ""
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; script-src 'self'{script}; connect-src 'self'{extra}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }
