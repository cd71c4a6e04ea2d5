"""Everything of Lantern that reaches into Rasa 3.6.21's internals, in one place.

The rest of `bot/` uses Rasa only through its documented extension points (custom
channels, custom actions over the SDK). What depends on Rasa's private code is here,
so that an upgrade of Rasa has one package to check:

- `patches`: replacements of Rasa internals, measured speed-ups that give Rasa's own
  results (docs/performance.md). Each one depends on the internals named below, and
  `apply()` switches them on, one by one, for Rasa 3.6.21 only:

  ==========================  ================================================================
  patch                       Rasa internals it replaces or relies on
  ==========================  ================================================================
  action_result_validation    `RemoteAction._validate_action_result`,
                              `RemoteAction.action_response_format_spec()` (its `oneOf` shape)
  event_lookup                `Event.resolve_by_type`, `Event.type_name`, `all_subclasses`
  kept_sessions               `EndpointConfig.session` (what `EndpointConfig.request` opens)
  classifier_layout           `LogisticRegressionClassifier.load` and its `clf.coef_`
  classifier_input            `LogisticRegressionClassifier._create_X`, `Message.features`
  graph_plan                  `rasa.core.processor.DaskGraphRunner`, `DaskGraphRunner`'s
                              `_graph_schema` and `_instantiated_nodes` (see `graph_runner`)
  ==========================  ================================================================

- `graph_runner`: `PlannedGraphRunner`, a `DaskGraphRunner` that plans each target set once.
- `tracker_store`: `LanternTrackerStore`, Rasa's `SQLTrackerStore` (named in endpoints.yml)
  with a leaner save; relies on `SQLTrackerStore.SQLEvent`, `session_scope`, `_retrieve`
  and `stream_events`, and tells the widget channel after each save.
- `sentence_featurizer`: an NLU component (named in config.yml) on Rasa's `DenseFeaturizer`
  and `DefaultV1Recipe` registry, plus `embedding_first`, which wraps a channel's
  `on_new_message` so the embedding is computed on a worker thread ahead of NLU.
- `channels`: the private members of Rasa's REST and Slack channels that Lantern's channels
  (`bot/channels/`) build on, and where a channel finds the running agent's tracker store.
- `training`: `rasa train` on Lantern's paths, and the model fingerprint (Rasa's version is
  part of it).
- `servers`: the command lines of the Rasa server and the action server, and their health.
- `console`: the third-party warnings a server's console does not need to show.

`python -m bot.rasa_integration rasa run ...` is how the Rasa server starts (`lantern serve
rasa`, the Procfile, the tests): it quiets the console, calls `apply(get_settings())`, then
hands over to Rasa's own command line.
"""

from __future__ import annotations

import logging

from bot.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"  # the only version the patches were written and measured against
PATCHES = (
    "action_result_validation",
    "event_lookup",
    "kept_sessions",
    "classifier_layout",
    "classifier_input",
    "graph_plan",
)


def selected_patches(spec: str) -> tuple[str, ...]:
    """The patches a `LANTERN_RASA_PATCHES` value names: `all`, `none` or a comma list."""
    words = [word.strip() for word in spec.split(",") if word.strip()]
    if words == ["all"]:
        return PATCHES
    if words in ([], ["none"]):
        return ()
    unknown = [word for word in words if word not in PATCHES]
    if unknown:
        raise SettingsError(
            f"LANTERN_RASA_PATCHES: unknown patch {', '.join(map(repr, unknown))}; "
            f"use all, none or a comma list of {', '.join(PATCHES)}"
        )
    return tuple(name for name in PATCHES if name in words)


def apply(settings: Settings) -> tuple[str, ...]:
    """Apply the patches `settings.rasa_patches` selects; returns the names applied.

    Called once, where the Rasa server process starts. Refuses (and logs why) to patch any
    Rasa other than 3.6.21: the replacements copy that version's code. Applying twice is
    harmless.
    """
    import rasa

    wanted = selected_patches(settings.rasa_patches)
    if wanted and rasa.__version__ != RASA_VERSION:
        logger.warning(
            "Rasa internals not patched: they were written for Rasa %s and this is Rasa %s "
            "(set LANTERN_RASA_PATCHES=none to silence this)",
            RASA_VERSION,
            rasa.__version__,
        )
        return ()
    from bot.rasa_integration import patches

    for name in wanted:
        patches.APPLY[name]()
    logger.info("Rasa %s internals patched: %s", rasa.__version__, ", ".join(wanted) or "none")
    return wanted
