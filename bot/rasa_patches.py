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
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text, Type

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

_validator: Any = None
_event_classes: Dict[Text, Type[Event]] = {}
_original_resolve_by_type = Event.resolve_by_type


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


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_event_type)  # type: ignore[method-assign]
