"""The action server answers only the Rasa server: a shared secret on every call.

The Rasa server sends `X-Lantern-Action-Secret` with each action call (endpoints.yml,
from LANTERN_ACTION_SECRET, which `lantern serve rasa` sets from the settings); the action
server refuses `/webhook` without it (401). Without this, anyone who can reach the port
could run an action with a made-up tracker: a lead with consent set, skipping the form.
`/health` stays open so readiness checks need no secret.

rasa_sdk has no hook for this: `require_action_secret` wraps `rasa_sdk.endpoint.create_app`
(used by `rasa_sdk.endpoint.run`) to add a request middleware.
"""

from __future__ import annotations

import hmac
from typing import Any, Optional

SECRET_HEADER = "X-Lantern-Action-Secret"


def secret_refusal(expected: str, presented: Optional[str]) -> Optional[str]:
    """Why a call is refused, or None when it carries the secret."""
    if not presented:
        return f"missing {SECRET_HEADER}"
    if not hmac.compare_digest(expected.encode(), presented.encode()):
        return f"wrong {SECRET_HEADER}"
    return None


def add_secret_check(app: Any, secret: str) -> Any:
    from sanic import response

    @app.middleware("request")
    async def check_secret(request: Any) -> Any:
        if request.path.rstrip("/") in ("/health", ""):
            return None
        refusal = secret_refusal(secret, request.headers.get(SECRET_HEADER))
        if refusal is not None:
            return response.json({"error": f"not the Rasa server: {refusal}"}, status=401)
        return None

    return app


def require_action_secret(secret: str) -> None:
    """Make every action server this process creates require `secret`."""
    import rasa_sdk.endpoint

    original = rasa_sdk.endpoint.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        return add_secret_check(original(*args, **kwargs), secret)

    rasa_sdk.endpoint.create_app = create_app
