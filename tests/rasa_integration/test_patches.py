import asyncio

import numpy as np
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_integration import apply, patches
from tests.loopback import serving


@pytest.fixture(autouse=True, scope="module")
def _applied(project_settings) -> None:
    apply(project_settings)  # what the Rasa server does as it starts


def action() -> RemoteAction:
    return RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_the_patch_is_applied_by_apply() -> None:
    assert RemoteAction._validate_action_result is patches._validate_action_result


def test_valid_action_results_pass() -> None:
    assert action()._validate_action_result({"events": [{"event": "slot", "name": "x", "value": 1}], "responses": []})


def test_invalid_action_results_raise_like_rasa_does() -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action()._validate_action_result({"events": "not a list"})


def test_event_lookup_is_patched_and_agrees_with_rasa_for_every_event_type() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    assert Event.resolve_by_type is patches._resolve_event_type
    for cls in all_subclasses(Event):
        assert Event.resolve_by_type(cls.type_name) is patches._original_resolve_by_type(cls.type_name)


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
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    client_ports: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the action server (Sanic) does

        def do_POST(self) -> None:
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
        await patches.close_kept_sessions()
        return results

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        endpoint = EndpointConfig(f"{url}/webhook", headers={"X-Test": "1"})
        assert asyncio.run(three_calls(endpoint)) == [{"events": [], "responses": []}] * 3
    assert len(client_ports) == 3 and len(set(client_ports)) == 1


def test_action_results_are_judged_as_rasas_full_schema_judges_them() -> None:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    spec = RemoteAction.action_response_format_spec()
    full = validator_for(spec)(spec)
    fast = patches.ActionResultValidator(spec)
    results = [
        {"events": [{"event": "slot", "name": "problem", "value": "x", "timestamp": None},
                    {"event": "active_loop", "name": "discovery_form"}, {"event": "bot", "text": "hi", "data": {}},
                    {"event": "user", "text": "hey", "parse_data": {"intent": {"name": "greet", "confidence": 0.4}}}],
         "responses": [{"text": "hello"}]},
        {"events": "not a list"}, {"events": [1]}, {"events": [{"event": "no_such_event"}]},
        {"events": [{"event": ["slot"]}]}, {"events": [{"name": "x"}]}, {"events": [{"event": "slot", "name": "x"}]},
        {"events": [{"event": "slot", "name": 1, "value": 2}]}, {"responses": "x"}, [], "text",
        {"events": [{"event": "user", "parse_data": {"intent": {"name": 3}}}]},
        {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": "now"}]},
        {"events": [{"event": "entities", "entities": [{"entity": "a"}]}]},
        {"events": [{"event": "slot", "name": "a", "value": 1}, {"event": "bot", "metadata": 3}]},
    ]
    for result in results:
        expected, found = best_match(full.iter_errors(result)), fast.first_error(result)
        assert (expected is None) == (found is None), result
        if expected is not None:
            assert found.message == expected.message


def features_message(dense: bool = True) -> Message:
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, INTENT, TEXT
    from rasa.shared.nlu.training_data.features import Features
    from scipy import sparse

    rng = np.random.default_rng(7)

    def counts(rows: int, columns: int) -> sparse.coo_matrix:
        return sparse.random(rows, columns, density=0.2, format="coo", random_state=rng) * 3

    message = Message({TEXT: "our posts get no likes"})
    for origin, width in (("words", 40), ("characters", 90)):
        message.add_features(Features(counts(5, width), FEATURE_TYPE_SEQUENCE, TEXT, origin))
        message.add_features(Features(counts(1, width), FEATURE_TYPE_SENTENCE, TEXT, origin))
    message.add_features(Features(counts(1, 7), FEATURE_TYPE_SENTENCE, INTENT, "intent"))  # another attribute
    if dense:
        message.add_features(Features(rng.normal(size=(1, 384)).astype(np.float32), FEATURE_TYPE_SENTENCE, TEXT, "meaning"))
    return message


@pytest.mark.parametrize("dense", [True, False])
def test_the_classifier_gets_the_matrix_rasa_builds(dense: bool) -> None:
    messages = [features_message(dense), features_message(dense)]
    expected = patches._original_classifier_input(None, messages)
    found = patches._classifier_input(None, messages)
    assert found.format == "csr" and found.shape == expected.shape and found.dtype == expected.dtype
    np.testing.assert_array_equal(found.toarray(), expected.toarray())


def test_column_major_coefficients_give_identical_probabilities() -> None:
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    features = sparse.random(120, 500, density=0.05, format="csr", random_state=rng)
    model = LogisticRegression(max_iter=200).fit(features, rng.integers(0, 5, size=120))
    expected = model.predict_proba(features)
    model.coef_ = np.asfortranarray(model.coef_)
    assert model.coef_.T.flags.c_contiguous  # what scipy needs to multiply without a copy
    np.testing.assert_array_equal(model.predict_proba(features), expected)


@pytest.mark.slow
def test_the_trained_model_parses_and_predicts_as_with_rasas_own_code(project_settings, monkeypatch) -> None:
    import rasa.core.processor
    from rasa.core.agent import load_agent
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa_integration.training import train_if_changed

    model = str(train_if_changed(project_settings))
    texts = ["hi", "our newsletter keeps landing in spam", "visits fell by half in march", "skip",
             "can i get a quote?", "what's the weather in paris", "tell me more", "Dana Reyes", "a call"]

    async def behaviour() -> list:
        agent = await load_agent(model_path=model)
        parsed = [await agent.parse_message(text) for text in texts]
        tracker = DialogueStateTracker.from_events(
            "visitor", [ActionExecuted("action_listen"), UserUttered(texts[1], parsed[1]["intent"], [], parsed[1])],
            slots=agent.domain.slots,
        )
        prediction = agent.processor._predict_next_with_tracker(tracker)
        return [(p["intent"]["name"], p["intent"]["confidence"], [r["name"] for r in p["intent_ranking"]]) for p in parsed] + [
            (prediction.max_confidence_index, prediction.policy_name, list(prediction.probabilities))
        ]

    with monkeypatch.context() as rasas_own:
        rasas_own.setattr(rasa.core.processor, "DaskGraphRunner", DaskGraphRunner)
        rasas_own.setattr(LogisticRegressionClassifier, "_create_X", patches._original_classifier_input)
        rasas_own.setattr(LogisticRegressionClassifier, "load", patches._original_classifier_load)
        expected = asyncio.run(behaviour())
    assert rasa.core.processor.DaskGraphRunner is patches.PlannedGraphRunner
    assert asyncio.run(behaviour()) == expected


def test_a_schema_without_named_event_alternatives_is_checked_in_full() -> None:
    spec = RemoteAction.action_response_format_spec()
    changed = {**spec, "properties": {**spec["properties"], "events": {
        "type": "array", "items": {"type": "object", "oneOf": [{"required": ["event"]}, {"required": ["name"]}]}}}}
    validator = patches.ActionResultValidator(changed)
    assert validator.by_event == {}
    assert validator.first_error({"events": [{"event": "slot"}]}) is None
    assert "valid under each of" in validator.first_error({"events": [{"event": "slot", "name": "x"}]}).message
