"""A measured speed-up for Rasa 3.6, applied when the Rasa server loads Lantern's channel.

`RemoteAction._validate_action_result` calls `jsonschema.validate()` on every response
from the action server, and `validate()` first checks the (constant) schema against the
JSON Schema meta-schema. Under load that check was about 38 % of the Rasa server's CPU
(py-spy, docs/performance.md). The replacement runs exactly the same validation and
raises the same error, with the validator built once per process.
"""

from __future__ import annotations

from typing import Any, Dict, Text

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_validator: Any = None


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


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
