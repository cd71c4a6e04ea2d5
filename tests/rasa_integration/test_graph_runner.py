"""`PlannedGraphRunner` runs the nodes Rasa's runner would, in an order that respects their needs."""

from typing import Any, Dict, List

import pytest
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage

from bot.rasa_integration.graph_runner import PlannedGraphRunner

CALLS: List[str] = []


class Joiner(GraphComponent):
    """Returns its node name joined with whatever it was given, and records the call."""

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: Any, resource: Any, execution_context: ExecutionContext) -> "Joiner":
        return cls(config["name"])

    def join(self, **parts: Any) -> str:
        CALLS.append(self.name)
        return self.name + "(" + ",".join(f"{key}={parts[key]}" for key in sorted(parts)) + ")"


def node(name: str, **needs: str) -> SchemaNode:
    return SchemaNode(needs=needs, uses=Joiner, constructor_name="create", fn="join", config={"name": name})


# a diamond (c needs a twice over) plus a node no target needs
SCHEMA = GraphSchema({
    "a": node("a", text="__text__"),
    "b": node("b", first="a"),
    "c": node("c", left="a", right="b"),
    "unused": node("unused", x="a"),
})


@pytest.fixture
def runners(tmp_path) -> tuple:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(SCHEMA)
    return DaskGraphRunner(SCHEMA, storage, context), PlannedGraphRunner(SCHEMA, storage, context)


@pytest.mark.parametrize("targets", [["c"], ["b", "c"], ["a"], None])
def test_same_results_as_rasas_runner_each_node_run_once_after_what_it_needs(runners, targets) -> None:
    dask_runner, planned = runners
    CALLS.clear()
    expected = dask_runner.run({"__text__": "hi"}, targets)
    expected_calls = sorted(CALLS)
    for _ in range(2):  # the second run uses the stored plan
        CALLS.clear()
        assert planned.run({"__text__": "hi"}, targets) == expected
        assert sorted(CALLS) == expected_calls
        order = [name for name in ("a", "b", "c") if name in CALLS]
        assert [CALLS.index(name) for name in order] == sorted(CALLS.index(name) for name in order)


def test_a_string_input_naming_a_node_is_refused_as_by_rasa(runners) -> None:
    for runner in runners:
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            runner.run({"__text__": "a"}, ["c"])
