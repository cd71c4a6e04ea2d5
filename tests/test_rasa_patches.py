import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import bot.channels.rest  # noqa: F401 - importing the channel applies the patch
from bot import rasa_patches


def action() -> RemoteAction:
    return RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_the_patch_is_applied_by_the_channel_module() -> None:
    assert RemoteAction._validate_action_result is rasa_patches._validate_action_result


def test_valid_action_results_pass() -> None:
    assert action()._validate_action_result({"events": [{"event": "slot", "name": "x", "value": 1}], "responses": []})


def test_invalid_action_results_raise_like_rasa_does() -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action()._validate_action_result({"events": "not a list"})
