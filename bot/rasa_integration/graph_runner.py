"""A runner for Rasa's trained graphs that works out each run's plan once.

Rasa 3.6 runs its prediction graph several times per message (once to parse it, once per
predicted action) with `DaskGraphRunner`, which on every run walks the graph for the nodes
the targets need (a recursive walk that lists shared dependencies again and again), builds
a dask graph from them and lets dask's scheduler order it. For the same targets that work
gives the same answer each time: about 6 % of the Rasa server's CPU under load
(docs/performance.md). This runner computes the order once per target set and then calls
the same nodes, with the same inputs, in it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

# (node name, names of the values it takes, in the order it takes them)
Plan = List[Tuple[Text, Tuple[Text, ...]]]


class PlannedGraphRunner(DaskGraphRunner):
    """`DaskGraphRunner`'s nodes and results, run in an order computed once per target set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: Dict[Tuple[Text, ...], Plan] = {}

    def plan(self, targets: Tuple[Text, ...]) -> Plan:
        """The nodes `targets` depend on (themselves included), each after what it needs."""
        plan = self._plans.get(targets)
        if plan is None:
            plan, placed = [], set()
            nodes = self._graph_schema.nodes

            def place(name: Text) -> None:
                if name in placed or name not in nodes:  # not a node: an input, given to run()
                    return
                placed.add(name)
                needs = tuple(nodes[name].needs.values())
                for dependency in needs:
                    place(dependency)
                plan.append((name, needs))

            for target in targets:
                place(target)
            self._plans[targets] = plan
        return plan

    def run(self, inputs: Optional[Dict[Text, Any]] = None, targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        """Runs the graph (see `GraphRunner.run`): the same nodes and results as Rasa's runner."""
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        plan = self.plan(run_targets)
        # Each node takes (name, output) pairs, as under dask; inputs come in the same form.
        values: Dict[Text, Tuple[Text, Any]] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and value in self._graph_schema.nodes:  # refused as Rasa's runner does
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none of the input "
                    f"names passed to the `run` method are the same as node names in the graph schema."
                )
            values[name] = (name, value)
        try:
            for name, needs in plan:
                values[name] = self._instantiated_nodes[name](*(values[need] for need in needs))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(values[target] for target in run_targets)
