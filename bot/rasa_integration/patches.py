"""Measured speed-ups for Rasa 3.6.21, applied by `bot.rasa_integration.apply()` (named there).

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
4. The action-response schema says each event must match exactly one of 25 event schemas
   (`oneOf`), so jsonschema tries all 25 for every event, building an error for each
   miss: still about 6 % of the Rasa server's CPU with the validator built once. Each of
   the 25 pins the `event` field to its own constant, so an event can only ever match the
   one its `event` names: the replacement checks it against that one alone, and falls back
   to the full schema (and so Rasa's own error) for anything else.
5. The intent classifier multiplies each message's features by its coefficient matrix,
   which scikit-learn transposes and scipy then copies in full (27 x 22,679 doubles) on
   every message: about 9 % of the Rasa server's CPU. Stored in column-major order, the
   transpose is already in the layout scipy wants, so nothing is copied; every number and
   every result is the same.
6. `DaskGraphRunner` plans each graph run from scratch; `bot.rasa_integration.graph_runner.PlannedGraphRunner`
   plans once per set of targets and runs the same nodes.
7. To build the classifier's input row, Rasa combines every sparse feature of the message
   (the per-token matrices too, which the classifier never reads), deep-copying each, and
   then stacks the blocks through scipy's general (COO) path: about 7 % of the Rasa
   server's CPU. The replacement stacks the same sentence-level blocks, in the same order,
   straight into the CSR matrix scikit-learn then asks for: the same matrix.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Callable, Dict, List, Optional, Text, Type

import aiohttp
import numpy as np
import rasa.core.processor
import scipy.sparse
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_integration.graph_runner import PlannedGraphRunner

_event_classes: Dict[Text, Type[Event]] = {}
_original_resolve_by_type = Event.resolve_by_type
_original_session = EndpointConfig.session
_original_classifier_load = LogisticRegressionClassifier.load
_original_classifier_input = LogisticRegressionClassifier._create_X
_kept_sessions: "weakref.WeakSet[aiohttp.ClientSession]" = weakref.WeakSet()


class ActionResultValidator:
    """Rasa's action-response schema, with each event checked against its own event schema."""

    def __init__(self, spec: Dict[Text, Any]) -> None:
        self.full = self._validator(spec)
        events = spec["properties"]["events"]
        event_schema = events["items"]
        # The response with its events' contents left out: they are checked one by one below.
        self.outline = self._validator(
            {**spec, "properties": {**spec["properties"], "events": {**events, "items": {}}}}
        )
        shared = {key: value for key, value in event_schema.items() if key != "oneOf"}
        self.by_event: Dict[Text, Any] = {}
        alternatives = event_schema.get("oneOf", [])
        names = [alternative.get("properties", {}).get("event", {}).get("const") for alternative in alternatives]
        if not alternatives or not all(isinstance(name, str) for name in names):
            return  # not the schema this shortcut was written for: every event goes to the full schema
        for name, alternative in zip(names, alternatives):
            # Were two alternatives to share a name, an event could match both: oneOf would then
            # fail where a lookup would pass, so that name is left to the full schema.
            if name in self.by_event:
                self.by_event[name] = None
            else:
                self.by_event[name] = self._validator({**shared, "allOf": [alternative]})

    @staticmethod
    def _validator(schema: Dict[Text, Any]) -> Any:
        validator_class = validator_for(schema)
        validator_class.check_schema(schema)
        return validator_class(schema)

    def first_error(self, result: Any) -> Optional[ValidationError]:
        """The error Rasa's validation would report, or None if `result` is valid."""
        error = best_match(self.outline.iter_errors(result))
        if error is not None or not isinstance(result, dict):
            return error
        for event in result.get("events", []):
            name = event.get("event") if isinstance(event, dict) else None
            validator = self.by_event.get(name) if isinstance(name, str) else None
            if validator is None or not validator.is_valid(event):
                return best_match(self.full.iter_errors(result))  # Rasa's own error message
        return None


_action_result_validator: Optional[ActionResultValidator] = None


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    global _action_result_validator
    if _action_result_validator is None:
        _action_result_validator = ActionResultValidator(self.action_response_format_spec())
    error = _action_result_validator.first_error(result)
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


def _load_classifier(cls: Type[LogisticRegressionClassifier], *args: Any, **kwargs: Any) -> LogisticRegressionClassifier:
    component = _original_classifier_load.__func__(cls, *args, **kwargs)
    if hasattr(component.clf, "coef_"):
        component.clf.coef_ = np.asfortranarray(component.clf.coef_)
    return component


def _classifier_input(self: LogisticRegressionClassifier, messages: List[Message]) -> scipy.sparse.csr_matrix:
    rows = []
    for message in messages:
        sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
        blocks = [scipy.sparse.csr_matrix(f.features) for f in sentence if f.is_sparse()] or [scipy.sparse.csr_matrix([])]
        dense = [f.features for f in sentence if f.is_dense()]
        blocks.append(scipy.sparse.csr_matrix(np.concatenate(dense, axis=-1) if dense else []))
        rows.append(scipy.sparse.hstack(blocks, format="csr"))
    return scipy.sparse.vstack(rows, format="csr")


def _apply_action_result_validation() -> None:
    RemoteAction._validate_action_result = _validate_action_result


def _apply_event_lookup() -> None:
    Event.resolve_by_type = staticmethod(_resolve_event_type)


def _apply_kept_sessions() -> None:
    EndpointConfig.session = _kept_session


def _apply_classifier_layout() -> None:
    LogisticRegressionClassifier.load = classmethod(_load_classifier)


def _apply_classifier_input() -> None:
    LogisticRegressionClassifier._create_X = _classifier_input


def _apply_graph_plan() -> None:
    rasa.core.processor.DaskGraphRunner = PlannedGraphRunner


# By the names `LANTERN_RASA_PATCHES` uses (bot/rasa_integration/__init__.py lists them).
APPLY: Dict[Text, Callable[[], None]] = {
    "action_result_validation": _apply_action_result_validation,  # 1 and 4 above
    "event_lookup": _apply_event_lookup,  # 2
    "kept_sessions": _apply_kept_sessions,  # 3
    "classifier_layout": _apply_classifier_layout,  # 5
    "graph_plan": _apply_graph_plan,  # 6
    "classifier_input": _apply_classifier_input,  # 7
}
