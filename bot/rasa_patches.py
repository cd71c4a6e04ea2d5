"""Measured speed-ups for Rasa 3.6, applied when the Rasa server loads Lantern's channel.

1. `RemoteAction._validate_action_result` calls `jsonschema.validate()` on every response
   from the action server, and `validate()` first checks the (constant) schema against the
   JSON Schema meta-schema. Under load that check was about 38 % of the Rasa server's CPU
   (py-spy, docs/performance.md). The replacement runs exactly the same validation and
   raises the same error, with the validator built once per process.
2. `Event.resolve_by_type` walks every subclass of `Event` (and asks `inspect` whether
   each is abstract) for every event it deserialises, and the tracker store deserialises
   the whole conversation on every turn: about 7 % of the Rasa server's CPU. The
   replacement looks the name up in a table built from the same walk, in the same order,
   and walks again on a miss, so event classes imported later are still found.
3. `EndpointConfig.request` opens a new HTTP session, and so a new TCP connection, for
   every call to the action server (one or two per turn). The replacement hands
   `request` one session per endpoint and event loop, with the same headers, auth and
   timeout, so connections are kept alive and reused.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Dict, Optional, Text, Type

import aiohttp
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

_validator: Any = None
_event_classes: Dict[Text, Type[Event]] = {}
_original_resolve_by_type = Event.resolve_by_type
_original_session = EndpointConfig.session
_kept_sessions: "weakref.WeakSet[aiohttp.ClientSession]" = weakref.WeakSet()


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    global _validator
    if _validator is None:
        spec = self.action_response_format_spec()
        validator_class = validator_for(spec)
        validator_class.check_schema(spec)
        _validator = validator_class(spec)
    error = best_match(_validator.iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            f"from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def _resolve_event_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    found = _event_classes.get(type_name)
    if found is None:
        _event_classes.clear()
        for cls in all_subclasses(Event):
            _event_classes.setdefault(cls.type_name, cls)  # first match wins, as in Rasa
        found = _event_classes.get(type_name)
    if found is not None:
        return found
    return _original_resolve_by_type(type_name, default)  # Rasa's own answer for the rest


class _KeptSession:
    """`async with` gives the endpoint's long-lived session and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_: Any) -> None:
        return None


def _kept_session(self: EndpointConfig) -> _KeptSession:
    # A session belongs to one event loop; the Rasa server has one, tests may have several.
    sessions: Dict[Any, aiohttp.ClientSession] = self.__dict__.setdefault("_lantern_sessions", {})
    loop = asyncio.get_running_loop()
    session = sessions.get(loop)
    if session is None or session.closed:
        session = sessions[loop] = _original_session(self)
        _kept_sessions.add(session)
    return _KeptSession(session)


async def close_kept_sessions() -> None:
    """Close the kept sessions of the running loop (the server calls this when stopping)."""
    loop = asyncio.get_running_loop()
    for session in list(_kept_sessions):
        if not session.closed and session._loop is loop:
            await session.close()


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_event_type)  # type: ignore[method-assign]
    EndpointConfig.session = _kept_session  # type: ignore[method-assign]
