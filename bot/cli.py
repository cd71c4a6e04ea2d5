"""The `lantern` command: knowledge-base tools, training, and the servers `make run` starts."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Sequence

from bot.settings import Settings, get_settings


def _kb_dir(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.kb_dir).resolve() if args.kb_dir else settings.kb_dir


def cmd_kb_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.knowledge.articles import load_knowledge_base

    kb_dir = _kb_dir(args, settings)
    kb = load_knowledge_base(kb_dir)
    for problem in kb.problems:
        print(problem.format(kb_dir.parent), file=sys.stderr)
    if kb.problems:
        print(f"{len(kb.problems)} problem(s) in {kb_dir}", file=sys.stderr)
        return 1
    sections = sum(len(a.sections) for a in kb.articles)
    print(f"ok: {len(kb.articles)} articles, {sections} sections, {len(kb.topics)} topics in {kb_dir}")
    return 0


def cmd_kb_index(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from bot.db import upgrade_schema
    from bot.knowledge.index_store import KnowledgeBaseInvalid, write_index

    kb_dir = _kb_dir(args, settings)
    upgrade_schema(settings.db_url)

    def progress(articles):
        return tqdm(articles, desc="indexing", unit="article", disable=len(articles) < 200 or None)

    try:
        report = write_index(settings.db_url, kb_dir, progress=progress)
    except KnowledgeBaseInvalid as error:
        for problem in error.problems:
            print(problem.format(kb_dir.parent), file=sys.stderr)
        print(
            f"refused: {len(error.problems)} problem(s) in {kb_dir}; the previous index keeps serving",
            file=sys.stderr,
        )
        return 1
    state = "indexed" if report.changed else "unchanged"
    print(
        f"{state}: {report.article_count} articles, {report.passage_count} passages "
        f"(generation {report.generation}) from {kb_dir}"
    )
    return 0


def cmd_kb_search(args: argparse.Namespace, settings: Settings) -> int:
    from bot.knowledge.articles import load_knowledge_base
    from bot.knowledge.index_store import IndexNotBuilt, hybrid_index_of, load_live_index
    from bot.knowledge.search import IntentLevel

    if args.kb_dir:
        kb = load_knowledge_base(_kb_dir(args, settings))
        if not kb.ok:
            for problem in kb.problems:
                print(problem.format(), file=sys.stderr)
            return 1
        # The same hybrid search the assistant serves; the texts are embedded now, not read from the database.
        index = hybrid_index_of(kb)
    else:
        try:
            index = load_live_index(settings.db_url)
        except IndexNotBuilt as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    results = index.search(args.query, k=args.k, intent=IntentLevel(args.intent))
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
        return 0
    if not results:
        print("no confident answer (nothing passes the answerability threshold)")
    for rank, result in enumerate(results, 1):
        print(f"{rank}. {result.title}  [{result.id}, {result.kind}, {', '.join(result.topics)}]")
        similarity = "" if result.similarity is None else f", similarity {result.similarity:.2f}"
        print(f"   score {result.score:.2f}, coverage {result.coverage:.2f}{similarity}  {result.url}")
        print(f"   § {result.passage_heading}: {_shorten(result.passage, 160)}")
    return 0


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import upgrade_schema

    upgrade_schema(settings.db_url)
    print(f"database schema is current: {_redact(settings.db_url)}")
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from bot.rasa_integration.training import train_if_changed

    model = train_if_changed(settings, force=args.force)
    print(model)
    return 0


def cmd_intent_tune(args: argparse.Namespace, settings: Settings) -> int:
    from bot.conversation.intent_model import TUNING_FILE, tune, write_tuning

    tuning = tune()
    write_tuning(tuning)
    print(f"{TUNING_FILE}: C={tuning.c}, thresholds {tuning.thresholds}, held-out recall {tuning.held_out_recall:.1%} "
          f"with {tuning.held_out_false_offers} false offers ({tuning.messages} messages, {tuning.writers} writers)")
    return 0


def cmd_intent_assess(args: argparse.Namespace, settings: Settings) -> int:
    from bot.conversation.buying_intent import BotPrompt, DialogueContext
    from bot.conversation.intent_model import served_model, training_offerings
    from bot.knowledge.embeddings import shared_encoder

    context = DialogueContext(BotPrompt(args.prompt), args.declined_before)
    assessment = served_model(settings.models_dir).assess(args.text, context, shared_encoder(), training_offerings())
    print(f"{assessment.level.value}  (clear score {assessment.probability:.3f}; {assessment.reason})")
    if assessment.evidence:
        print(f"evidence: {assessment.evidence}")
    if assessment.buys_elsewhere:
        print("wants something the company does not sell")
    return 0


def cmd_leads_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.handoff.leads import list_leads

    rows = list_leads(settings.db_url, limit=args.limit)
    if not rows:
        print("no leads yet")
    failed = sum(1 for _, notes in rows for n in notes if n.status == "failed")
    if failed:
        print(f"{failed} notification(s) FAILED for good and will not be retried: see `lantern leads show ID`")
    for lead, notes in rows:
        delivery = ", ".join(
            f"{n.target}: {'FAILED' if n.status == 'failed' else n.status}" for n in notes
        ) or "no notification targets configured"
        print(f"#{lead.id}  {lead.created_at:%Y-%m-%d %H:%M}  {lead.name} <{lead.email}>  "
              f"{lead.company or '-'}  via {lead.channel}, follow up by {lead.follow_up}  [{delivery}]")
    return 0


def cmd_leads_show(args: argparse.Namespace, settings: Settings) -> int:
    from bot.handoff.leads import get_lead

    found = get_lead(settings.db_url, args.id)
    if found is None:
        print(f"no lead #{args.id}", file=sys.stderr)
        return 1
    lead, notes = found
    brief = lead.brief
    print(f"Lead #{lead.id}  created {lead.created_at:%Y-%m-%d %H:%M %Z}  conversation {lead.conversation_id} ({lead.channel})")
    print(f"  contact:   {lead.name} <{lead.email}>, {lead.company or 'no company given'}; follow up by {lead.follow_up}")
    print(f"  consent:   contact {'yes' if lead.consent_contact else 'no'}, storage "
          f"{'yes' if lead.consent_storage else 'no'}, given {lead.consent_at:%Y-%m-%d %H:%M %Z}")
    print(f"  intent:    {lead.intent_level}: \u201c{lead.intent_evidence}\u201d")
    for label, key in (("problem", "problem"), ("sees", "symptoms"), ("matters", "why_it_matters_to_them"),
                       ("tried", "already_tried")):
        print(f"  {label + ':':<10} {brief.get(key) or '(not said)'}")
    for article in brief.get("articles_read", []):
        helped = {True: "helped", False: "did not help", None: "no feedback"}[article.get("helped")]
        print(f"  read:      {article['title']} ({helped}) {article['url']}")
    for note in notes:
        given_up = f", given up {note.failed_at:%Y-%m-%d %H:%M}" if note.failed_at else ""
        print(f"  notify {note.target}: {note.status}, {note.attempts} attempt(s){given_up}"
              + (f", last error: {note.last_error}" if note.last_error else ""))
    return 0


def _ago(moment: Optional[datetime], since: datetime) -> str:
    return "-" if moment is None else f"{(moment - since).total_seconds():.0f} s"


def cmd_handoff_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.handoff.live import figures, list_handoffs

    handoffs = list_handoffs(settings.db_url, limit=args.limit)
    if not handoffs:
        print("no live handoffs yet")
    for h in handoffs:
        who = f"rep {h.rep_name} ({h.rep_id})" if h.rep_id else "nobody took it"
        ended = f"ended {h.ended_at:%Y-%m-%d %H:%M} ({h.end_reason})" if h.ended_at else "ongoing"
        print(f"#{h.id}  {h.state:<16} since {h.requested_at:%Y-%m-%d %H:%M:%S}  {h.conversation_id} "
              f"via {h.visitor_channel}, lead #{h.lead_id}  {who}  taken after {_ago(h.taken_at, h.requested_at)}, "
              f"first reply after {_ago(h.first_reply_at, h.requested_at)}  {ended}")
    f = figures(settings.db_url)
    if f.requested:
        def median(value: Optional[float]) -> str:
            return "-" if value is None else f"{value:.0f} s"
        print(f"{f.requested} requested, {f.taken} taken, {f.timed_out} timed out; median time to take "
              f"{median(f.median_seconds_to_take)}, to the first rep reply {median(f.median_seconds_to_first_reply)}")
    return 0


def cmd_handoff_release(args: argparse.Namespace, settings: Settings) -> int:
    """Give a stuck conversation back to the bot: Rasa resumes it, the database and Slack follow."""
    from urllib.parse import quote

    import requests
    from sqlalchemy.exc import SQLAlchemyError

    from bot.handoff import live, live_messages
    from bot.handoff.slack_api import SlackApi, SlackApiError
    from bot.privacy.forget import record_slack_post

    handoff = live.get_handoff(settings.db_url, args.id)
    if handoff is None:
        print(f"no live handoff #{args.id}", file=sys.stderr)
        return 1
    if not handoff.active:
        print(f"live handoff #{args.id} is already {handoff.state} ({handoff.end_reason}); nothing to release")
        return 0
    # As bot/rasa_integration/conversations.py `resumed()`: a listen, then resume.
    events = [{"event": "action", "name": "action_listen"}, {"event": "resume"},
              {"event": "bot", "text": live_messages.released(), "metadata": {live_messages.NOTICE_KEY: "back"}}]
    url = f"{settings.rasa_url}/conversations/{quote(handoff.conversation_id, safe='')}/tracker/events"
    try:
        answer = requests.post(url, params={"token": settings.api_token or ""}, json=events, timeout=10)
        answer.raise_for_status()
    except requests.RequestException as error:
        # Not the error's text: its URL carries the API token.
        status = f"HTTP {error.response.status_code}" if error.response is not None else error.__class__.__name__
        print(f"could not resume the conversation through the Rasa server at {settings.rasa_url} ({status}); "
              "nothing was changed", file=sys.stderr)
        return 1
    released = live.release(settings.db_url, handoff.id)
    if released is None:
        print(f"live handoff #{args.id} ended meanwhile; the conversation is with the bot")
        return 0
    if settings.slack_enabled and handoff.slack_channel and handoff.slack_ts:
        api = SlackApi(settings.slack_bot_token or "", settings.slack_api_url)
        try:
            ts = api.post(handoff.slack_channel, "Released to Lantern from the command line: nothing written here "
                          "reaches the visitor any more.", thread_ts=handoff.slack_ts)
            if ts:  # forget deletes it with the brief
                record_slack_post(settings.db_url, handoff.slack_channel, ts, conversation_id=handoff.conversation_id,
                                  lead_id=handoff.lead_id)
        except SlackApiError as error:
            print(f"released, but Slack was not told: {error}", file=sys.stderr)
        except SQLAlchemyError as error:
            print(f"released; the note in Slack was not recorded, so forget will not delete it: {error}", file=sys.stderr)
    print(f"live handoff #{handoff.id} released: {handoff.conversation_id} is with the bot again")
    return 0


def cmd_insights_gaps(args: argparse.Namespace, settings: Settings) -> int:
    from bot.insights import recent_content_gaps

    gaps = recent_content_gaps(settings.db_url, limit=args.limit)
    if not gaps:
        print("no content gaps recorded")
    for gap in gaps:
        nearest = f"  (nearest topic: {gap.closest_topic})" if gap.closest_topic else ""
        print(f"{gap.created_at:%Y-%m-%d %H:%M}  [{gap.conversation_id}]  {gap.question}{nearest}")
    return 0


def cmd_insights_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from bot.insights import feedback_by_article

    rows = feedback_by_article(settings.db_url)
    if not rows:
        print("no article feedback recorded")
    for article_id, helped, did_not in rows:
        print(f"{article_id:<45} helped {helped:>4}   did not help {did_not:>4}")
    return 0


def cmd_demo_traffic(args: argparse.Namespace, settings: Settings) -> int:
    from bot.insights.demo_traffic import duration, play_demo_traffic
    from bot.insights.signals import remove_demo_data

    if args.remove:
        removed = remove_demo_data(settings.db_url)
        print("removed demo data: " + ", ".join(f"{n} from {table}" for table, n in removed.items()))
        return 0
    if not 1 <= args.conversations <= 100_000:
        print("error: --conversations must be between 1 and 100000", file=sys.stderr)
        return 2
    import requests

    try:
        requests.get(settings.rasa_url, timeout=10)
    except requests.RequestException as error:
        print(f"error: the Rasa server at {settings.rasa_url} does not answer ({error.__class__.__name__}); "
              "start it with `make run`", file=sys.stderr)
        return 2
    report = play_demo_traffic(settings, args.conversations, seed=args.seed, workers=args.workers,
                               progress=lambda line: print(line, flush=True))
    refused = f"; {report.refused} refused with 429 were sent again" if report.refused else ""
    print(f"played {report.conversations} demo conversations in {duration(report.seconds)}: {report.complete} complete, "
          f"{report.failures} failed ({report.messages} messages arrived{refused}); see {settings.dashboard_url}/")
    if report.failed:
        print(f"{report.failures} conversation(s) did not arrive complete:")
        for failed in sorted(report.failed, key=lambda f: f.conversation_id):
            print(f"  {failed.conversation_id}: {failed.arrived} of {failed.total} messages arrived; {failed.reason}")
        print("what they sent is demo data like the rest (lantern demo-traffic --remove deletes it)")
    return 0 if report.failures == 0 else 1


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from bot.db import upgrade_schema
    from bot.handoff.outbox import deliver_due, notifiers_from_settings, run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    upgrade_schema(settings.db_url)
    if args.once:
        report = deliver_due(settings.db_url, notifiers_from_settings(settings))
        print(f"delivered {report.delivered}, failed {report.failed}")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_worker(settings, poll_seconds=args.poll)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_privacy_forget(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import upgrade_schema
    from bot.privacy.forget import forget

    upgrade_schema(settings.db_url)
    removed = forget(settings, email=args.email, conversation_id=args.conversation, origin="cli")
    for line in removed.lines():
        print(line)
    return 1 if removed.problems or removed.crm_notice == "owed" else 0


def cmd_privacy_export(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from bot.db import upgrade_schema
    from bot.privacy.forget import export

    upgrade_schema(settings.db_url)
    print(json.dumps(export(settings, args.email), indent=2, ensure_ascii=False, default=str))
    return 0


def cmd_privacy_retention(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import upgrade_schema
    from bot.privacy.retention import run_retention

    upgrade_schema(settings.db_url)
    report = run_retention(settings)
    print(f"deleted {report.conversations_deleted} conversation(s) silent for over {settings.retention_days} days; "
          f"anonymised {report.leads_anonymised} lead(s) older than {settings.lead_retention_days} days; "
          f"deleted {report.insight_signals_deleted} insight signal(s) and kept {report.insight_rows_anonymised} "
          "expired conversation(s) in the dashboard's counts under ids that name no one")
    return 0


def cmd_init_env(args: argparse.Namespace, settings: Settings) -> int:
    """Write a random API token and dashboard token to `.env` unless they are configured already."""
    for name, value, why in (
        ("LANTERN_API_TOKEN", settings.api_token, "protects Rasa's HTTP API"),
        ("LANTERN_DASHBOARD_TOKEN", settings.dashboard_token, "the marketing dashboard's login"),
    ):
        if value:
            print(f"{name} is set (from the environment or {settings.env_file})")
            continue
        token = secrets.token_urlsafe(32)
        with settings.env_file.open("a", encoding="utf-8") as handle:
            handle.write(f"\n# Generated by `lantern init-env`: {why}.\n{name}={token}\n")
        os.chmod(settings.env_file, 0o600)
        print(f"generated {name} into {settings.env_file}")
    return 0


def _serve_forever(server: Any, started: str) -> int:
    """Run one of Lantern's own standard-library HTTP servers until Ctrl-C or SIGTERM."""
    print(started, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.rasa_integration.servers import action_server_command, rasa_server_command

    if args.server == "demo":
        from bot.channels.demo_site import make_demo_server

        return _serve_forever(make_demo_server(settings), f"demo site on {settings.demo_url}")
    if args.server == "dashboard":
        from bot.insights.dashboard import make_dashboard_server

        return _serve_forever(make_dashboard_server(settings), f"marketing dashboard on {settings.dashboard_url}")
    if args.server == "nginx":
        from bot.cluster import nginx_command, write_cluster_files

        config, _ = write_cluster_files(settings)
        argv, env = nginx_command(config), dict[str, str]()
    elif args.server == "rasa":
        argv, env = rasa_server_command(settings)
    else:
        argv, env = action_server_command(settings)
    os.execvpe(argv[0], argv, {**os.environ, **env})
    return 0  # not reached


def cmd_cluster(args: argparse.Namespace, settings: Settings) -> int:
    """Check the cluster's settings and write its nginx.conf and Procfile (docs/deploy.md)."""
    from bot.cluster import check_cluster_settings, write_cluster_files
    from bot.db import create_database_if_missing

    problems = check_cluster_settings(settings)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    for url in {settings.db_url, settings.tracker_db_url}:
        if create_database_if_missing(url):
            print(f"created database {_redact(url)}")
    config, procfile = write_cluster_files(settings)
    print(f"wrote {config}\nwrote {procfile}")
    return 0


def cmd_wait_ready(args: argparse.Namespace, settings: Settings) -> int:
    """Wait for both servers, print where they are, then idle until stopped."""
    from bot.rasa_integration.servers import wait_until_healthy

    try:
        wait_until_healthy(settings, timeout=args.timeout)
    except TimeoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        "\nLantern is up.\n"
        f"  Rasa server:    {settings.rasa_url}\n"
        f"  REST channel:   {settings.rasa_url}/webhooks/rest/webhook\n"
        f"  Action server:  {settings.action_url}\n"
        f"  API token:      LANTERN_API_TOKEN in {settings.env_file} (or your environment)\n"
        f"  Demo site:      {settings.demo_url}/  (the chat widget is in the corner)\n"
        f"  Dashboard:      {settings.dashboard_url}/  (log in with LANTERN_DASHBOARD_TOKEN from {settings.env_file})\n"
        "  Demo data:      lantern demo-traffic   (60 visitors, about 5 minutes; remove: lantern demo-traffic --remove)\n"
        "  Try: curl -s -XPOST "
        f"{settings.rasa_url}/webhooks/rest/webhook -d '{{\"sender\":\"me\",\"message\":\"hi\"}}'\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    if args.once:
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


def build_parser() -> argparse.ArgumentParser:
    from bot.conversation.buying_intent import BotPrompt

    parser = argparse.ArgumentParser(prog="lantern", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    kb = commands.add_parser("kb", help="check, index and search the knowledge base").add_subparsers(
        dest="kb_command", required=True
    )
    for name, func, help_text in (
        ("check", cmd_kb_check, "validate articles and topics; report every problem"),
        ("index", cmd_kb_index, "validate, then make the knowledge base the live search index"),
    ):
        sub = kb.add_parser(name, help=help_text)
        sub.add_argument("--kb-dir", help="knowledge base folder (default: LANTERN_KB_DIR or knowledge_base/)")
        sub.set_defaults(func=func)
    search = kb.add_parser("search", help="search like the assistant does")
    search.add_argument("query")
    search.add_argument("--kb-dir", help="search this folder directly instead of the live index")
    search.add_argument("--k", type=int, default=3, help="number of results (default 3)")
    search.add_argument("--intent", choices=["none", "interest", "clear"], default="none")
    search.add_argument("--json", action="store_true", help="print results as JSON")
    search.set_defaults(func=cmd_kb_search)

    db = commands.add_parser("db", help="application database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply schema migrations").set_defaults(func=cmd_db_upgrade)

    train = commands.add_parser("train", help="train the Rasa model unless an identical one exists")
    train.add_argument("--force", action="store_true")
    train.set_defaults(func=cmd_train)

    intent = commands.add_parser("intent", help="the buying-intent judgement").add_subparsers(
        dest="intent_command", required=True
    )
    intent.add_parser(
        "tune", help="choose C and the offer threshold on held-out writers; writes intent_tuning.yml"
    ).set_defaults(func=cmd_intent_tune)
    judge = intent.add_parser("assess", help="judge one message as the assistant would")
    judge.add_argument("text")
    judge.add_argument("--prompt", choices=[p.value for p in BotPrompt], default="greeting",
                       help="what the bot had just asked (default: greeting)")
    judge.add_argument("--declined-before", action="store_true")
    judge.set_defaults(func=cmd_intent_assess)

    commands.add_parser(
        "init-env", help="generate LANTERN_API_TOKEN and LANTERN_DASHBOARD_TOKEN into .env if unset"
    ).set_defaults(
        func=cmd_init_env
    )

    serve = commands.add_parser("serve", help="run one server in the foreground (used by the Procfile)")
    serve.add_argument("server", choices=["rasa", "actions", "demo", "dashboard", "nginx"])
    serve.set_defaults(func=cmd_serve)

    leads = commands.add_parser("leads", help="leads handed to sales").add_subparsers(dest="leads_command", required=True)
    leads_list = leads.add_parser("list", help="recent leads and their delivery status")
    leads_list.add_argument("--limit", type=int, default=50)
    leads_list.set_defaults(func=cmd_leads_list)
    leads_show = leads.add_parser("show", help="one lead with its brief")
    leads_show.add_argument("id", type=int)
    leads_show.set_defaults(func=cmd_leads_show)

    handoff = commands.add_parser("handoff", help="live handoffs to reps in Slack").add_subparsers(
        dest="handoff_command", required=True
    )
    handoff_list = handoff.add_parser("list", help="live handoffs: waiting, with whom, since when, ended")
    handoff_list.add_argument("--limit", type=int, default=50)
    handoff_list.set_defaults(func=cmd_handoff_list)
    handoff_release = handoff.add_parser("release", help="give a stuck conversation back to the bot")
    handoff_release.add_argument("id", type=int)
    handoff_release.set_defaults(func=cmd_handoff_release)

    insights = commands.add_parser("insights", help="what visitors tell the marketing team").add_subparsers(
        dest="insights_command", required=True
    )
    gaps = insights.add_parser("gaps", help="questions no article answered well, newest first")
    gaps.add_argument("--limit", type=int, default=50)
    gaps.set_defaults(func=cmd_insights_gaps)
    insights.add_parser("feedback", help="per article: how often it helped").set_defaults(func=cmd_insights_feedback)

    demo = commands.add_parser(
        "demo-traffic", help="play varied visitor scripts through the REST channel, within its rate limits (demo data)"
    )
    demo.add_argument("--conversations", type=int, default=60, help="how many conversations (default 60: about 5 minutes at the default rate limits)")
    demo.add_argument("--seed", type=int, default=7, help="random seed: the same seed plays the same visitors")
    demo.add_argument("--workers", type=int, default=4, help="conversations played at once")
    demo.add_argument("--remove", action="store_true", help="delete all demo data instead")
    demo.set_defaults(func=cmd_demo_traffic)

    worker = commands.add_parser("worker", help="deliver lead notifications (the outbox) until stopped")
    worker.add_argument("--once", action="store_true", help="one delivery round, then exit")
    worker.add_argument("--poll", type=float, default=1.0, help="seconds between rounds when idle")
    worker.set_defaults(func=cmd_worker)

    privacy = commands.add_parser("privacy", help="data rights: forget, export, retention").add_subparsers(
        dest="privacy_command", required=True
    )
    forget = privacy.add_parser("forget", help="remove everything about a person or a conversation")
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="everything about the person with this email address")
    who.add_argument("--conversation", help="everything about one conversation (its id)")
    forget.set_defaults(func=cmd_privacy_forget)
    export = privacy.add_parser("export", help="everything held about a person, as JSON")
    export.add_argument("--email", required=True)
    export.set_defaults(func=cmd_privacy_export)
    privacy.add_parser("retention", help="apply the retention periods now (the worker does hourly)").set_defaults(
        func=cmd_privacy_retention
    )
    cluster = commands.add_parser("cluster", help="several Rasa servers behind nginx (docs/deploy.md)")
    cluster.add_argument("action", choices=["files"], help="check the settings, write var/cluster/{nginx.conf,Procfile}")
    cluster.set_defaults(func=cmd_cluster)

    ready = commands.add_parser("wait-ready", help="wait for both servers and print their URLs")
    ready.add_argument("--timeout", type=float, default=300.0)
    ready.add_argument("--once", action="store_true", help="exit once ready instead of idling")
    ready.set_defaults(func=cmd_wait_ready)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.handoff.business_hours import check_schedule
    from bot.settings import SettingsError

    try:
        settings = get_settings()
        check_schedule(settings)
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return int(args.func(args, settings) or 0)


if __name__ == "__main__":
    sys.exit(main())
