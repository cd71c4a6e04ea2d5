"""The marketing team's dashboard: what visitors struggle with, what teaching works, what to
write next, and what sales got. Served by `lantern serve dashboard` (started by `make run`).

Read-only except one thing: a suggestion can be marked written or dismissed. It needs a
login: the token in `LANTERN_DASHBOARD_TOKEN` (`lantern init-env` generates one), given once
on /login, after which a signed cookie stands for it; scripts may send it as a bearer token.
Visitors' email addresses are masked; no other personal data is shown.

Every table on a page is also a CSV download (/export/<table>.csv with the page's filter),
and the editorial calendar is an iCalendar file (/calendar.ics).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import date, datetime, timedelta, timezone
from functools import partial
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy.exc import SQLAlchemyError

from bot.insights import aggregates, charts, editorial
from bot.insights.aggregates import Period, Row
from bot.insights.grouping import Encoder
from bot.knowledge.index_store import IndexNotBuilt, load_live_index
from bot.knowledge.search import PassageIndex
from bot.settings import Settings

logger = logging.getLogger(__name__)
COOKIE = "lantern_dashboard"
DEFAULT_DAYS = 30
MAX_DAYS = 366 * 2
# A time chart shows days up to this many, weeks beyond; a topic chart this many topics and "other".
CHART_DAYS = 31
CHART_TOPICS = 6
PAGES = (
    ("problems", "Problems"), ("teaching", "Teaching"), ("funnel", "Funnel"), ("outcomes", "Education outcome"),
    ("gaps", "Content gaps"), ("calendar", "Editorial calendar"), ("sales", "Sales"),
)


class BadRequest(ValueError):
    """The request's parameters are unusable: a 400 with the reason."""


def parse_filter(query: dict[str, list[str]], today: Optional[date] = None) -> tuple[Period, str]:
    today = today or datetime.now(timezone.utc).date()

    def day(name: str, default: date) -> date:
        raw = (query.get(name) or [""])[0].strip()
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError as error:
            raise BadRequest(f"{name} must be a date like 2026-12-01, not {raw[:40]!r}") from error

    end = day("end", today)
    start = day("start", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise BadRequest("start must not be after end")
    if (end - start).days > MAX_DAYS:
        raise BadRequest(f"the period may be at most {MAX_DAYS} days")
    unit = (query.get("unit") or ["day"])[0]
    if unit not in ("day", "week"):
        raise BadRequest("unit must be day or week")
    return Period(start, end), unit


class Dashboard:
    """What each page shows: its tables (also the CSV exports) and the charts drawn from them."""

    def __init__(self, settings: Settings, encoder: Callable[[], Encoder]) -> None:
        self.settings = settings
        self.db_url = settings.db_url
        self._encoder = encoder

    def index(self) -> Optional[PassageIndex]:
        try:
            return load_live_index(self.db_url)
        except IndexNotBuilt:
            return None

    # Each returns the page's tables by name, in display order.
    def tables(self, page: str, period: Period, unit: str) -> dict[str, list[Row]]:
        if page == "problems":
            return {
                "problems_by_topic": aggregates.problems_by_topic(self.db_url, period, unit),
                "top_problems": editorial.problem_groups(self.db_url, period, self._encoder()),
            }
        if page == "teaching":
            articles = aggregates.teaching_by_article(self.db_url, period)
            passages = aggregates.teaching_by_passage(self.db_url, period)
            return {
                "articles": articles,
                "never_helping_articles": aggregates.never_helping(articles),
                "sections_never_reached": aggregates.never_reached(passages),
                "passages": [p for p in passages if p["shown"] or p["read_on"]],
            }
        if page == "funnel":
            return {"funnel": aggregates.funnel(self.db_url, period)}
        if page == "outcomes":
            trend = aggregates.outcome_trend(self.db_url, period, unit)
            return {"outcome_trend": trend, "outcome_totals": aggregates.outcome_totals(self.db_url, period, trend)}
        if page == "gaps":
            groups = editorial.gap_groups(self.db_url, period, self._encoder(), self.index())
            return {
                "in_domain_gaps": [g.row() for g in groups if not g.off_domain],
                "off_domain_questions": [g.row() for g in groups if g.off_domain],
            }
        if page == "calendar":
            groups = editorial.gap_groups(self.db_url, period, self._encoder(), self.index())
            suggestions = editorial.suggestions(self.db_url, period, groups)
            start = datetime.now(timezone.utc).date()
            start += timedelta(days=(7 - start.weekday()) % 7)  # from next Monday
            return {
                "calendar": editorial.calendar(suggestions, self.settings.editorial_cadence_days, start),
                "suggestions": suggestions,
            }
        if page == "sales":
            return {
                "handoffs": aggregates.handoff_summary(self.db_url, period),
                "handoff_outcomes": aggregates.handoff_outcomes(self.db_url, period),
                "leads_by_topic": aggregates.leads_by_topic(self.db_url, period),
                "leads": aggregates.leads_table(self.db_url, period),
            }
        raise KeyError(page)

    def charts(self, page: str, tables: dict[str, list[Row]]) -> list[str]:
        if page == "problems":
            rows = tables["problems_by_topic"]
            periods = sorted({r["period"] for r in rows})
            topics = sorted({r["topic"] for r in rows})
            counts = {(r["period"], r["topic"]): r["conversations"] for r in rows}
            labels, per_topic = self._over_time(periods, {t: [counts.get((p, t), 0) for p in periods] for t in topics})
            top = tables["top_problems"][:12]
            return [
                charts.stacked_bars("problems-over-time", f"Conversations with a problem, by topic{self._per(labels, periods)}",
                                    labels, charts.top_series(per_topic, CHART_TOPICS)),
                charts.horizontal_bars("top-problems", "Top problems in visitors' words", [r["problem"] for r in top],
                                       {"mentions": [r["count"] for r in top]}),
            ]
        if page == "teaching":
            rows = [r for r in tables["articles"] if r["shown"]][:15]
            return [charts.horizontal_bars(
                "teaching-articles", "Articles: shown, read on, helped, didn't help", [r["title"] for r in rows],
                {"shown": [r["shown"] for r in rows], "read on": [r["read_on"] for r in rows],
                 "helped": [r["helped"] for r in rows], "didn't help": [r["not_helped"] for r in rows]},
            )]
        if page == "funnel":
            rows = tables["funnel"]
            return [charts.horizontal_bars("funnel", "The education funnel (conversations)",
                                           [f"{r['step']} ({r['conversion_from_previous']:.0%})" for r in rows],
                                           {"conversations": [r["conversations"] for r in rows]})]
        if page == "outcomes":
            rows = tables["outcome_trend"]
            periods = [r["period"] for r in rows]
            labels, mix = self._over_time(periods, {name: [r[name.replace(" ", "_")] for r in rows] for name in aggregates.OUTCOMES})
            per = self._per(labels, periods)
            return [
                charts.line("outcome-score", f"Education score (0-100){per}", labels, {"score": education_scores(mix)}),
                charts.stacked_bars("outcome-mix", f"Outcomes of taught conversations{per}", labels, mix),
            ]
        if page == "gaps":
            inside = tables["in_domain_gaps"][:12]
            outside = tables["off_domain_questions"][:8]
            return [
                charts.horizontal_bars("gaps-in-domain", "Unanswered questions in the company's field", [r["group"] for r in inside],
                                       {"asked": [r["count"] for r in inside]}),
                charts.horizontal_bars("gaps-off-domain", "Off-domain questions (kept apart)", [r["group"] for r in outside],
                                       {"asked": [r["count"] for r in outside]}),
            ]
        if page == "calendar":
            rows = tables["calendar"][:12]
            return [charts.horizontal_bars("calendar-demand", "Next on the calendar: conversations asking",
                                           [f"{r['date']} {r['working_title']}" for r in rows],
                                           {"conversations": [r["conversations"] for r in rows]})]
        if page == "sales":
            by_topic = tables["leads_by_topic"]
            return [
                charts.horizontal_bars("leads-by-topic", "Leads by topic", [r["topic"] for r in by_topic],
                                       {"leads": [r["leads"] for r in by_topic]}),
                charts.pie("handoff-outcomes", "Handoff outcomes of the leads",
                           {r["outcome"]: r["leads"] for r in tables["handoff_outcomes"]}),
            ]
        return []

    @staticmethod
    def _over_time(days: list[str], series: dict[str, list[float]]) -> tuple[list[str], dict[str, list[float]]]:
        """A time chart's labels and values: by week when there are more days than a chart shows well."""
        return charts.by_week(days, series) if len(days) > CHART_DAYS else (days, series)

    @staticmethod
    def _per(labels: list[str], periods: list[str]) -> str:
        return " (by week)" if labels != periods else ""


def education_scores(mix: dict[str, list[float]]) -> list[float]:
    """The mean score (0-100) of each bucket's outcomes: the score of weeks summed from days."""
    totals = [sum(counts) for counts in zip(*mix.values())]
    weighted = [sum(aggregates.OUTCOME_SCORES[name] * mix[name][i] for name in mix) for i in range(len(totals))]
    return [round(w / n, 1) if n else 0.0 for w, n in zip(weighted, totals)]


def session_value(token: str) -> str:
    """The cookie that stands for the token: a keyed hash, so the token itself is never stored in the browser."""
    return hmac.new(token.encode(), b"lantern-dashboard-session", hashlib.sha256).hexdigest()


STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#1f3b57;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
header a{color:#dfe9f3;text-decoration:none} header a.current{color:#fff;font-weight:600;border-bottom:2px solid #e08a2e}
main{padding:16px 20px;max-width:1200px} form.filter{margin:8px 0 16px;display:flex;gap:10px;align-items:end;flex-wrap:wrap}
figure.chart{background:#fff;margin:0 0 16px;padding:8px;border:1px solid #dde} figure.chart svg{max-width:100%;height:auto}
table{border-collapse:collapse;background:#fff;margin-bottom:6px;font-size:13px} th,td{border:1px solid #dde;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6} section{margin-bottom:24px} .export{font-size:13px} .error{color:#a00}
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}"
    return escape("" if value is None else str(value))


def render_table(name: str, rows: list[Row], query: str, limit: int = 200,
                 actions: Optional[Callable[[Row], str]] = None) -> str:
    title = name.replace("_", " ").capitalize()
    link = f'<a class="export" href="/export/{name}.csv?{escape(query)}" download>Download CSV</a>'
    if not rows:
        return f'<section data-table="{name}"><h3>{title}</h3><p>Nothing in this period.</p>{link}</section>'
    columns = [c for c in rows[0] if c != "key"]
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns) + ("<th></th>" if actions else "")
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row[c])}</td>" for c in columns) + (f"<td>{actions(row)}</td>" if actions else "") + "</tr>"
        for row in rows[:limit]
    )
    more = f"<p>{len(rows) - limit} more rows in the CSV.</p>" if len(rows) > limit else ""
    return f'<section data-table="{name}"><h3>{title}</h3><table><tr>{head}</tr>{body}</table>{more}{link}</section>'


class DashboardHandler(BaseHTTPRequestHandler):
    server_version = "LanternDashboard"
    # Headers and body go out as two writes; with Nagle's algorithm the body's last segment
    # waited for the browser's delayed ACK, about 40 ms on every page larger than one segment.
    disable_nagle_algorithm = True

    def __init__(self, *args: Any, dashboard: Dashboard, **kwargs: Any) -> None:
        self.dashboard = dashboard
        super().__init__(*args, **kwargs)

    # ---- plumbing ----
    def _send(self, status: int, body: str | bytes, content_type: str = "text/html; charset=utf-8",
              headers: Optional[dict[str, str]] = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str, headers: Optional[dict[str, str]] = None) -> None:
        self._send(HTTPStatus.SEE_OTHER, "", headers={"Location": location, **(headers or {})})

    def _token(self) -> Optional[str]:
        return self.dashboard.settings.dashboard_token

    def _logged_in(self) -> bool:
        token = self._token()
        if not token:
            return False
        bearer = self.headers.get("Authorization", "")
        if bearer.startswith("Bearer ") and hmac.compare_digest(bearer[7:].encode(), token.encode()):
            return True
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and hmac.compare_digest(value.encode(), session_value(token).encode()):
                return True
        return False

    def _form(self) -> dict[str, list[str]]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as error:
            raise BadRequest("bad Content-Length") from error
        if length > 10_000:
            raise BadRequest("form too large")
        return parse_qs(self.rfile.read(length).decode("utf-8", "replace"))

    def log_message(self, format: str, *args: Any) -> None:  # http.server's name
        logger.debug("dashboard: " + format, *args)

    # ---- routes ----
    def do_GET(self) -> None:  # the name http.server dispatches to
        url = urlsplit(self.path)
        if url.path == "/login":
            self._send(HTTPStatus.OK, self._login_page())
            return
        if url.path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, "", "image/x-icon")
            return
        if url.path == "/healthz":
            self._send(HTTPStatus.OK, "ok", "text/plain")
            return
        if not self._logged_in():
            if url.path.startswith("/export/") or url.path.endswith(".ics"):
                self._send(HTTPStatus.UNAUTHORIZED, "log in first", "text/plain", {"WWW-Authenticate": "Bearer"})
            else:
                self._redirect("/login")
            return
        try:
            query = parse_qs(url.query)
            period, unit = parse_filter(query)
            if url.path in ("", "/"):
                self._redirect("/problems")
            elif url.path.startswith("/export/") and url.path.endswith(".csv"):
                self._export(url.path[len("/export/"):-len(".csv")], period, unit)
            elif url.path == "/calendar.ics":
                rows = self.dashboard.tables("calendar", period, unit)["calendar"]
                self._send(HTTPStatus.OK, editorial.to_ical(rows), "text/calendar; charset=utf-8",
                           {"Content-Disposition": 'attachment; filename="editorial-calendar.ics"'})
            elif url.path.strip("/") in dict(PAGES):
                self._send(HTTPStatus.OK, self._page(url.path.strip("/"), period, unit))
            else:
                self._send(HTTPStatus.NOT_FOUND, "no such page", "text/plain")
        except BadRequest as error:
            self._send(HTTPStatus.BAD_REQUEST, str(error), "text/plain; charset=utf-8")
        except SQLAlchemyError:
            logger.exception("dashboard query failed")
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, "the database is unavailable; try again shortly", "text/plain")

    def do_POST(self) -> None:  # the name http.server dispatches to
        url = urlsplit(self.path)
        try:
            form = self._form()
            if url.path == "/login":
                token = self._token()
                given = (form.get("token") or [""])[0]
                if token and hmac.compare_digest(given.encode(), token.encode()):
                    cookie = f"{COOKIE}={session_value(token)}; HttpOnly; SameSite=Strict; Path=/"
                    self._redirect("/problems", {"Set-Cookie": cookie})
                else:
                    self._send(HTTPStatus.UNAUTHORIZED, self._login_page("That token is not right."))
                return
            if not self._logged_in():
                self._send(HTTPStatus.UNAUTHORIZED, "log in first", "text/plain")
                return
            if url.path == "/logout":
                self._redirect("/login", {"Set-Cookie": f"{COOKIE}=; Max-Age=0; Path=/"})
            elif url.path.startswith("/suggestions/"):
                key = url.path[len("/suggestions/"):]
                editorial.mark_suggestion(self.dashboard.db_url, key, (form.get("title") or [""])[0],
                                          (form.get("status") or [""])[0])
                back = (form.get("back") or ["/calendar"])[0]
                self._redirect(back if back.startswith("/calendar") else "/calendar")
            else:
                self._send(HTTPStatus.NOT_FOUND, "no such action", "text/plain")
        except (BadRequest, ValueError) as error:
            self._send(HTTPStatus.BAD_REQUEST, str(error), "text/plain; charset=utf-8")
        except SQLAlchemyError:
            logger.exception("dashboard update failed")
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, "the database is unavailable; try again shortly", "text/plain")

    def _export(self, name: str, period: Period, unit: str) -> None:
        for page, _ in PAGES:
            if name in _TABLES_OF[page]:
                rows = self.dashboard.tables(page, period, unit)[name]
                self._send(HTTPStatus.OK, editorial.to_csv(rows), "text/csv; charset=utf-8",
                           {"Content-Disposition": f'attachment; filename="{name}-{period.start}-{period.end}.csv"'})
                return
        self._send(HTTPStatus.NOT_FOUND, "no such table", "text/plain")

    # ---- pages ----
    def _shell(self, title: str, body: str, current: str = "") -> str:
        nav = "".join(
            f'<a href="/{slug}{{q}}" class="{"current" if slug == current else ""}">{label}</a>' for slug, label in PAGES
        )
        return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)} · Lantern insights</title>"
                f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{STYLE}</style></head>"
                f"<body><header><strong>Lantern insights</strong>{nav}</header><main>{body}</main></body></html>")

    def _login_page(self, error: str = "") -> str:
        note = f'<p class="error">{escape(error)}</p>' if error else ""
        if not self._token():
            note += '<p class="error">No LANTERN_DASHBOARD_TOKEN is configured: run <code>lantern init-env</code>.</p>'
        body = (f"<h1>Log in</h1>{note}<form method=post action=/login><label>Dashboard token "
                "<input type=password name=token autocomplete=current-password required></label> "
                "<button type=submit>Log in</button></form>")
        return self._shell("Log in", body).replace("{q}", "")

    def _page(self, page: str, period: Period, unit: str) -> str:
        tables = self.dashboard.tables(page, period, unit)
        figures = "".join(self.dashboard.charts(page, tables))
        query = urlencode({"start": period.start.isoformat(), "end": period.end.isoformat(), "unit": unit})
        actions = _suggestion_buttons(query) if page == "calendar" else None
        rendered = "".join(
            render_table(name, rows, query, actions=actions if name == "suggestions" else None) for name, rows in tables.items()
        )
        extra = ""
        if page == "calendar":
            extra = (f'<p>One article every {self.dashboard.settings.editorial_cadence_days} days '
                     f'(LANTERN_EDITORIAL_CADENCE_DAYS). <a href="/calendar.ics?{escape(query)}" download>Download iCalendar</a></p>')
        if page == "outcomes":
            extra = ("<p>Each taught conversation gets one outcome: helped (said so, 100), read on (asked for more or "
                     "followed a related problem, 75), shown only (40), needed a person (asked for a rep without being "
                     "helped, 25), not helped (said so, or only met gaps, 0). docs/insights.md has the definition.</p>")
        selected = {u: " selected" if u == unit else "" for u in ("day", "week")}
        filter_form = (
            f"<form class=filter method=get action=/{page}>"
            f"<label>From <input type=date name=start value={period.start.isoformat()}></label>"
            f"<label>To <input type=date name=end value={period.end.isoformat()}></label>"
            f"<label>By <select name=unit><option value=day{selected['day']}>day</option>"
            f"<option value=week{selected['week']}>week</option></select></label>"
            "<button type=submit>Apply</button></form>"
        )
        title = dict(PAGES)[page]
        html = self._shell(title, f"<h1>{title}</h1>{filter_form}{extra}{figures}{rendered}", page)
        return html.replace("{q}", "?" + escape(query))


def _suggestion_buttons(query: str) -> Callable[[Row], str]:
    def buttons(row: Row) -> str:
        out = []
        for status in ("written", "dismissed", "open"):
            if status != row["status"]:
                out.append(
                    f'<form method=post action="/suggestions/{row["key"]}" style="display:inline">'
                    f'<input type=hidden name=status value={status}><input type=hidden name=title value="{escape(row["working_title"])}">'
                    f'<input type=hidden name=back value="/calendar?{escape(query)}">'
                    f"<button type=submit>{'reopen' if status == 'open' else 'mark ' + status}</button></form>"
                )
        return " ".join(out)

    return buttons


_TABLES_OF = {
    "problems": ("problems_by_topic", "top_problems"),
    "teaching": ("articles", "never_helping_articles", "sections_never_reached", "passages"),
    "funnel": ("funnel",),
    "outcomes": ("outcome_trend", "outcome_totals"),
    "gaps": ("in_domain_gaps", "off_domain_questions"),
    "calendar": ("calendar", "suggestions"),
    "sales": ("handoffs", "handoff_outcomes", "leads_by_topic", "leads"),
}


def make_dashboard_server(settings: Settings, encoder: Optional[Callable[[], Encoder]] = None) -> ThreadingHTTPServer:
    if encoder is None:
        from bot.knowledge.embeddings import shared_encoder

        encoder = shared_encoder
    handler = partial(DashboardHandler, dashboard=Dashboard(settings, encoder))
    return ThreadingHTTPServer((settings.dashboard_host, settings.dashboard_port), handler)
