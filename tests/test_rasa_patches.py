import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import bot.channels.rest  # noqa: F401 - importing the channel applies the patch
from bot import rasa_patches
from tests.loopback import serving


def action() -> RemoteAction:
    return RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_the_patch_is_applied_by_the_channel_module() -> None:
    assert RemoteAction._validate_action_result is rasa_patches._validate_action_result


def test_valid_action_results_pass() -> None:
    assert action()._validate_action_result({"events": [{"event": "slot", "name": "x", "value": 1}], "responses": []})


def test_invalid_action_results_raise_like_rasa_does() -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action()._validate_action_result({"events": "not a list"})


def test_event_lookup_is_patched_and_agrees_with_rasa_for_every_event_type() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    assert Event.resolve_by_type is rasa_patches._resolve_event_type
    for cls in all_subclasses(Event):
        assert Event.resolve_by_type(cls.type_name) is rasa_patches._original_resolve_by_type(cls.type_name)


def test_event_lookup_keeps_rasas_answers_for_unknown_names() -> None:
    from rasa.shared.core.events import Event, SlotSet

    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_an_event_class_defined_later_is_found() -> None:
    from rasa.shared.core.events import Event, SlotSet

    Event.resolve_by_type("slot")  # fills the table

    class LanternTestEvent(SlotSet):
        type_name = "lantern_test_event"

    assert Event.resolve_by_type("lantern_test_event") is LanternTestEvent


def test_action_server_calls_reuse_one_connection() -> None:
    import asyncio
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    client_ports: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the action server (Sanic) does

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            client_ports.append(self.client_address[1])
            body = b'{"events": [], "responses": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    async def three_calls(endpoint: EndpointConfig) -> list:
        results = [await endpoint.request(json={"next_action": "action_x"}) for _ in range(3)]
        async with endpoint.session() as session:
            assert session.headers["X-Test"] == "1" and session.timeout.total == 300
        await rasa_patches.close_kept_sessions()
        return results

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        endpoint = EndpointConfig(f"{url}/webhook", headers={"X-Test": "1"})
        assert asyncio.run(three_calls(endpoint)) == [{"events": [], "responses": []}] * 3
    assert len(client_ports) == 3 and len(set(client_ports)) == 1
