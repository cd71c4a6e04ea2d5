import json
import shutil
from pathlib import Path

import pytest

from bot import cli
from tests.conftest import COOKWARE_KB, DEFAULT_KB


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_kb_check_passes_on_the_default_knowledge_base(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run_cli(capsys, "kb", "check", "--kb-dir", str(DEFAULT_KB))
    assert code == 0 and out.startswith("ok: ")


def test_kb_check_lists_problems_and_fails(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(COOKWARE_KB, kb)
    (kb / "articles" / "x.md").write_text("---\nid: x\n---\nno sections\n")
    (kb / "articles" / "y.md").write_text("no front matter\n")
    code, _, err = run_cli(capsys, "kb", "check", "--kb-dir", str(kb))
    assert code == 1
    assert "x.md:1: missing required field `title`" in err
    assert "y.md:1: missing YAML front matter" in err


def test_kb_search_json_has_the_documented_fields(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run_cli(capsys, "kb", "search", "our emails go to spam", "--kb-dir", str(DEFAULT_KB), "--json")
    assert code == 0
    results = json.loads(out)
    assert results[0]["id"] == "emails-going-to-spam"
    assert {"id", "title", "url", "topics", "kind", "score", "passage"} <= results[0].keys()


def test_kb_search_prints_nothing_confident_for_off_domain(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run_cli(
        capsys, "kb", "search", "recipe for banana bread", "--kb-dir", str(DEFAULT_KB), "--json"
    )
    assert code == 0 and json.loads(out) == []


def test_kb_search_intent_flag_gates_sales_pages(capsys: pytest.CaptureFixture) -> None:
    query = ["kb", "search", "how much do you charge for seo", "--kb-dir", str(DEFAULT_KB), "--json", "--k", "10"]
    _, none_out, _ = run_cli(capsys, *query)
    _, clear_out, _ = run_cli(capsys, *query, "--intent", "clear")
    assert not {r["kind"] for r in json.loads(none_out)} & {"service", "pricing"}
    assert "pricing" in {r["kind"] for r in json.loads(clear_out)}


@pytest.fixture
def cli_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    from bot.settings import get_settings

    monkeypatch.setenv("LANTERN_DB_URL", sqlite_url)
    monkeypatch.setenv("LANTERN_CRM_WEBHOOK_URL", "http://127.0.0.1:9/unreachable")
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def test_leads_list_show_and_a_worker_round(capsys: pytest.CaptureFixture, cli_db: str) -> None:
    from bot.handoff.brief import Contact, LeadBrief
    from bot.handoff.leads import Announcement, create_lead
    from bot.settings import get_settings

    assert run_cli(capsys, "leads", "list")[1].strip() == "no leads yet"
    settings = get_settings()
    lead_id = create_lead(
        settings.db_url, Announcement.from_settings(settings), "conv-cli", "rest", Contact("Dana Reyes", "dana@x.example", None, "email"),
        LeadBrief("site is slow", None, "we lose sales", None, [], "can i get a quote"), "clear",
    )
    code, out, _ = run_cli(capsys, "leads", "list")
    assert code == 0 and f"#{lead_id}" in out and "webhook: pending" in out
    code, out, _ = run_cli(capsys, "worker", "--once")
    assert code == 0 and "delivered 0, failed 1" in out
    code, out, _ = run_cli(capsys, "leads", "show", str(lead_id))
    assert code == 0 and "“can i get a quote”" in out and "matters:   we lose sales" in out
    assert "notify webhook: pending, 1 attempt(s), last error: ConnectionError" in out
    assert run_cli(capsys, "leads", "show", "999")[0] == 1


def test_insights_show_content_gaps_and_feedback(capsys: pytest.CaptureFixture, cli_db: str) -> None:
    from bot.insights import record_article_feedback, record_content_gap

    assert "no content gaps recorded" in run_cli(capsys, "insights", "gaps")[1]
    record_content_gap(cli_db, "conv-9", "how do i fix my tractor", "Website traffic")
    record_article_feedback(cli_db, "conv-9", "heavy-images", True)
    record_article_feedback(cli_db, "conv-8", "heavy-images", False)
    record_article_feedback(cli_db, "conv-7", "heavy-images", True)
    out = run_cli(capsys, "insights", "gaps")[1]
    assert "[conv-9]  how do i fix my tractor  (nearest topic: Website traffic)" in out
    out = run_cli(capsys, "insights", "feedback")[1]
    assert out.split() == ["heavy-images", "helped", "2", "did", "not", "help", "1"]


def test_lantern_refuses_to_start_on_a_bad_schedule(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "LANTERN_HOME": str(tmp_path), "LANTERN_BUSINESS_HOURS": "weekdays 9-5"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "configuration error: LANTERN_BUSINESS_HOURS" in result.stderr


def test_handoff_list_and_a_release_that_cannot_reach_rasa_changes_nothing(
    capsys: pytest.CaptureFixture, cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.handoff import live
    from bot.settings import get_settings

    assert run_cli(capsys, "handoff", "list")[1] == "no live handoffs yet\n"
    handoff = live.request_live(cli_db, "visitor-cli", "widget", 4)
    live.take(cli_db, handoff.id, "UDANA", "Dana")
    code, out, _ = run_cli(capsys, "handoff", "list")
    assert code == 0 and f"#{handoff.id}  with_rep" in out and "rep Dana (UDANA)" in out and "ongoing" in out
    assert "1 requested, 1 taken, 0 timed out" in out

    monkeypatch.setenv("LANTERN_RASA_PORT", "9")  # nothing listens: Rasa can't resume the conversation
    monkeypatch.setenv("LANTERN_API_TOKEN", "t0ps3cret")
    get_settings.cache_clear()
    code, _, err = run_cli(capsys, "handoff", "release", str(handoff.id))
    assert code == 1 and "nothing was changed" in err and "t0ps3cret" not in err
    assert live.get_handoff(cli_db, handoff.id).state == live.WITH_REP  # type: ignore[union-attr]
    assert run_cli(capsys, "handoff", "release", "404")[0] == 1


def test_a_release_notes_it_in_the_brief_thread_and_forget_deletes_that_note_with_the_brief(
    capsys: pytest.CaptureFixture, cli_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bot.handoff import live
    from bot.settings import get_settings
    from tests.e2e.fake_slack import running_fake_slack
    from tests.loopback import serving

    class Rasa(BaseHTTPRequestHandler):  # accepts the resume events the release appends
        def do_POST(self) -> None:  # http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    handoff = live.request_live(cli_db, "visitor-release", "widget", None)
    live.attach_slack_message(cli_db, handoff.id, "CSALES", "300.3")
    live.take(cli_db, handoff.id, "UDANA", "Dana")
    with running_fake_slack() as slack, serving(ThreadingHTTPServer(("127.0.0.1", 0), Rasa)) as rasa:
        for name, value in {"LANTERN_RASA_PORT": rasa.rsplit(":", 1)[1], "SLACK_BOT_TOKEN": "xoxb-t",
                            "SLACK_SIGNING_SECRET": "s", "LANTERN_SLACK_API_URL": slack.url,
                            "LANTERN_TRACKER_DB_URL": f"sqlite:///{tmp_path / 'tracker.db'}"}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        code, out, _ = run_cli(capsys, "handoff", "release", str(handoff.id))
        assert code == 0 and "released" in out
        [note] = [c for c in slack.calls if c["method"] == "chat.postMessage"]
        assert note["args"]["thread_ts"] == "300.3"
        assert run_cli(capsys, "privacy", "forget", "--conversation", "visitor-release")[0] == 0
        deleted = {(a["channel"], a["ts"]) for a in slack.of("chat.delete")}
    assert deleted == {("CSALES", "300.3"), ("CSALES", note["answer"]["ts"])}
def test_privacy_forget_prints_what_it_removed_and_export_prints_json(
    capsys: pytest.CaptureFixture, cli_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    from bot.handoff.brief import Contact, LeadBrief
    from bot.handoff.leads import Announcement, create_lead
    from bot.settings import get_settings

    monkeypatch.setenv("LANTERN_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.delenv("LANTERN_CRM_WEBHOOK_URL")
    get_settings.cache_clear()
    settings = get_settings()
    create_lead(settings.db_url, Announcement.from_settings(settings), "conv-p", "rest",
                Contact("Ana Lopez", "ana@x.example", None, "email"), LeadBrief("slow", None, None, None, [], "quote"),
                "clear")
    code, out, _ = run_cli(capsys, "privacy", "export", "--email", "ana@x.example")
    assert code == 0 and json.loads(out)["leads"][0]["name"] == "Ana Lopez"
    code, out, _ = run_cli(capsys, "privacy", "forget", "--email", "ana@x.example")
    assert code == 0 and "removed 1 leads" in out and "ana@x.example" not in out
    code, out, _ = run_cli(capsys, "privacy", "forget", "--email", "ana@x.example")
    assert code == 0 and "nothing to remove" in out
    code, out, _ = run_cli(capsys, "privacy", "retention")
    assert code == 0 and "silent for over 30 days" in out
