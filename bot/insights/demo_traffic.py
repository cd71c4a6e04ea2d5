"""Demo traffic for a fresh install: varied visitor scripts played through the real REST
channel, so the dashboard has something to show (`lantern demo-traffic --conversations N`).

Every demo conversation id starts with `DEMO_PREFIX`, which marks all the rows it leaves in
the application database; `lantern demo-traffic --remove` deletes them. The scripts cover
every topic of the default knowledge base, follow-ups ("tell me more", "why?", "what else?"),
feedback both ways, questions the knowledge base does not answer (in its field and far from
it), and a few buyers who go through the lead form.

The demo plays within the REST channel's request limits (bot/security/rate_limit.py) as any
well-behaved client would, so a stock `make run` needs no higher limits: it paces itself to
the limits it reads from the settings (`LANTERN_RATE_PER_CLIENT`, `LANTERN_RATE_PER_CONVERSATION`
per `LANTERN_RATE_WINDOW_SECONDS`), honours every 429 by waiting as its `Retry-After` says (or
backing off without one) and sending the same message again, so no script is cut short, and
reports by id every conversation that could not be played to the end.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Optional, Sequence

import requests

from bot.insights.signals import DEMO_PREFIX
from bot.settings import Settings

# (problem, a symptom, what it costs them, what they tried), by topic.
PROBLEMS: dict[str, Sequence[tuple[str, str, str, str]]] = {
    "website-traffic": (
        ("our website traffic dropped suddenly last month", "visits halved in two weeks", "fewer enquiries every week", "we checked the analytics tag"),
        ("we launched a new site and nobody visits it", "maybe ten visits a day", "the redesign cost us a lot and brings nothing", "we shared it on facebook"),
    ),
    "seo": (
        ("we don't show up on google for our own services", "we are on page four", "competitors get all the calls", "we added keywords to the homepage"),
        ("google is not indexing our new pages", "search console says discovered not indexed", "new products never get found", "we resubmitted the sitemap"),
    ),
    "content-marketing": (
        ("we write blog posts but nobody reads them", "under twenty views per post", "hours of writing wasted every week", "we posted more often"),
        ("we can't keep publishing regularly", "we post in bursts then stop for months", "our audience forgets us", "we tried a content calendar once"),
    ),
    "social-media": (
        ("our instagram posts get no engagement", "two or three likes a post", "we spend hours on content for nothing", "we tried more hashtags"),
        ("we have followers but they never buy", "five thousand followers and no sales", "social takes budget with no return", "we ran a giveaway"),
    ),
    "conversion": (
        ("people visit our site but never enquire", "lots of visits and no form fills", "the sales pipeline is empty", "we moved the contact button"),
        ("shoppers abandon their carts", "seventy percent leave at checkout", "we lose sales we already paid to attract", "we added a discount code"),
    ),
    "email-marketing": (
        ("our newsletter keeps landing in spam", "open rates halved since march", "we lose repeat orders", "we changed the subject lines"),
        ("our email list is not growing", "a handful of sign ups a month", "we can't reach customers without paying for ads", "we added a sign up box"),
    ),
    "lead-nurturing": (
        ("our leads go cold before sales calls them", "they stop replying after a week", "good prospects go to competitors", "we send one follow up email"),
        ("leads say they are not ready yet", "most enquiries are months from buying", "we forget them and they buy elsewhere", "we call them every month"),
    ),
    "analytics": (
        ("we don't know which marketing actually works", "every channel claims the credit", "we can't decide where to spend", "we looked at google analytics"),
        ("we can't track conversions from our ads", "analytics shows no goals", "we pay for ads blindly", "we installed a plugin"),
    ),
    "reviews-ugc": (
        ("we have too few reviews on google", "eight reviews in five years", "people pick competitors with more stars", "we asked a few customers"),
        ("we got a bad review and don't know how to respond", "a one star review on top", "it scares new customers away", "we ignored it"),
    ),
    "paid-ads": (
        ("our ads get clicks but no sales", "hundreds of clicks and no orders", "the ad budget is burning", "we raised the budget"),
        ("our ad costs keep rising", "cost per click doubled this year", "we can't afford to advertise", "we narrowed the audience"),
    ),
    "mobile-speed": (
        ("our site is really slow on phones", "pages take eight seconds to load", "mobile visitors leave before it loads", "we bought a faster host"),
        ("our site is hard to use on phones", "buttons are too small to tap", "mobile orders are a fraction of desktop", "we installed a mobile theme"),
    ),
    "sales-marketing-alignment": (
        ("our sales team says the marketing leads are bad", "sales ignores most leads", "marketing and sales blame each other", "we had a meeting about it"),
        ("we don't agree on what a qualified lead is", "every team counts leads differently", "good leads fall through the cracks", "we tried lead scoring"),
    ),
}
# Questions the default knowledge base does not answer, in its field: several phrasings each.
IN_DOMAIN_GAPS: Sequence[Sequence[str]] = (
    ("how do i get backlinks to my site?", "how can we earn links from other websites?",
     "what is the best way to build backlinks?", "how do i get other sites to link to us?"),
    ("how many hashtags should i use on instagram?", "do hashtags still work on instagram?", "which hashtags should we use for our posts?"),
    ("what makes a good call to action?", "how do i write a call to action that people click?", "what should our cta button say?"),
    ("how do i audit my website's seo?", "what should an seo audit check?", "how do we run a marketing audit ourselves?"),
    ("how do i plan content for a whole year?", "how should we plan our blog topics?", "how do i make a content plan?"),
    ("how often should we send our newsletter?", "what is the right email frequency?", "how many emails a week is too many?"),
    ("should we make videos for our website?", "is video marketing worth it for a small business?", "how do i start with video content?"),
    ("how do i write a good meta description?", "what should our page titles say for google?", "how long should a meta description be?"),
    ("how do we know who our target audience is?", "how do i define a buyer persona?", "how do we figure out our ideal customer?"),
    ("how do i get on google maps?", "how do i set up a google business profile?", "how do we verify our business on google?"),
    ("how do i measure return on my marketing spend?", "how do i calculate marketing roi?"),
    ("what should i put on my about page?", "how do i write an about us page that builds trust?"),
    ("should i use a chatbot on my website?", "do live chat widgets help conversions?"),
    ("how do i do a/b testing on my landing page?", "how do i split test two versions of a page?"),
    ("how do i repurpose old blog posts?", "should we update old articles or write new ones?"),
    ("how do i use linkedin to find clients?", "how should a small business post on linkedin?"),
)
OFF_DOMAIN: Sequence[str] = (
    "what's a good recipe for banana bread?", "how do i increase my credit card limit?", "what's the weather in lisbon tomorrow?",
    "who won the football last night?", "how do i fix a leaking tap?", "can you recommend a good dentist?",
    "how do i reset my router password?", "what's the best tractor for a small farm?",
)
FOLLOW_UPS = ("tell me more", "why does that matter?", "what else should i look at?")
BUYER_LINES = ("can i get a quote for fixing this?", "how much do you charge for this?", "can we book a call with your team?")
NAMES = ("Alex Moreno", "Priya Shah", "Tom Becker", "Lena Fischer", "Sam Okafor", "Mia Rossi", "Jon Park", "Ana Silva")


def visitor_script(rng: random.Random) -> list[str]:
    """One visitor's messages: a problem with discovery, or a direct question, then follow-ups."""
    roll = rng.random()
    if roll < 0.28:  # a question the KB does not answer, maybe after a greeting
        gap = rng.choice(IN_DOMAIN_GAPS)
        first = rng.choice(gap)
        script = (["hi"] if rng.random() < 0.5 else []) + [first]
        if rng.random() < 0.4:
            script.append(rng.choice([g for g in gap if g != first]))  # asked again in other words
        return script
    if roll < 0.36:
        return [rng.choice(OFF_DOMAIN)]
    topic = rng.choice(sorted(PROBLEMS))
    problem, symptom, impact, tried = rng.choice(PROBLEMS[topic])
    script = ["hi", problem, symptom, impact if rng.random() < 0.8 else "skip", tried if rng.random() < 0.7 else "skip"]
    depth = rng.random()
    if depth < 0.35:
        script.append("yes" if rng.random() < 0.7 else "no, that didn't help")
    elif depth < 0.75:
        script += rng.sample(FOLLOW_UPS, k=rng.randint(1, 2))
        if rng.random() < 0.5:
            script.append("thanks, that helped")
    if rng.random() < 0.12:  # a buyer
        name = rng.choice(NAMES)
        email = name.lower().replace(" ", ".") + f"{rng.randint(1, 99)}@demo.example"
        script += [rng.choice(BUYER_LINES), "yes please", name, email, "skip", "email", "yes"]
    return script


def demo_scripts(conversations: int, seed: int, run: str) -> list[tuple[str, list[str]]]:
    """The conversations `play_demo_traffic` plays for this seed: (conversation id, messages)."""
    rng = random.Random(seed)
    return [(f"{DEMO_PREFIX}{run}-{n:05d}", visitor_script(rng)) for n in range(conversations)]


# Playing within the server's limits.

REFUSALS_PER_MESSAGE = 12  # 429s one message may get before its conversation is reported as failed
REQUEST_TIMEOUT = 60.0


@dataclass
class Failed:
    """A conversation that could not be played to the end, and why."""

    conversation_id: str
    arrived: int  # messages the server accepted before it stopped
    total: int
    reason: str


@dataclass
class DemoReport:
    run: str = ""  # the run's part of the conversation ids: demo-<run>-00000
    conversations: int = 0  # played (complete or failed)
    messages: int = 0  # accepted by the server
    refused: int = 0  # 429 answers, each waited out and the same message sent again
    seconds: float = 0.0
    failed: list[Failed] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return len(self.failed)

    @property
    def complete(self) -> int:
        return self.conversations - self.failures


class Pacer:
    """At most `limit` sends in any `window` seconds, for the threads that share it.

    The server counts fixed windows that open at a key's first message (bot/security/rate_limit.py):
    when no `window`-long stretch holds more than `limit` sends, no fixed window does either,
    wherever it opened. A small margin covers the time a request takes to arrive. `pause` (a
    429's Retry-After) holds every sender back until then."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = max(1, limit)
        self.window = window + min(0.5, window / 10)
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._stopped = False
        self._condition = threading.Condition()

    def _delay(self, now: float) -> float:
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()
        wait = self._paused_until - now
        if len(self._sent) >= self.limit:
            wait = max(wait, self._sent[0] + self.window - now)
        return wait

    def wait_free(self) -> bool:
        """Wait until a send would be within the limit; False if stopped meanwhile."""
        with self._condition:
            while not self._stopped:
                wait = self._delay(time.monotonic())
                if wait <= 0:
                    return True
                self._condition.wait(wait)
            return False

    def acquire(self) -> Optional[float]:
        """Wait for a free slot and take it; the time it was taken, or None if stopped."""
        with self._condition:
            while not self._stopped:
                now = time.monotonic()
                wait = self._delay(now)
                if wait <= 0:
                    self._sent.append(now)
                    return now
                self._condition.wait(wait)
            return None

    def note(self, at: float) -> None:
        """Count a send taken at `at` (time.monotonic) elsewhere."""
        with self._condition:
            self._sent.append(at)

    def pause(self, seconds: float) -> None:
        with self._condition:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
            self._condition.notify_all()

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()


def retry_after_seconds(response: requests.Response, refusals: int, window: float) -> float:
    """How long a 429 asks to wait: its Retry-After (seconds or an HTTP date), else a back-off
    that doubles with each refusal of the same message, up to one window."""
    value = (response.headers.get("Retry-After") or "").strip()
    seconds: Optional[float] = None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError, IndexError):
            seconds = None
    if seconds is None or not math.isfinite(seconds):
        return float(min(max(window, 1.0), 2 ** (refusals - 1)))
    return max(0.0, seconds)


def estimate_seconds(scripts: Sequence[tuple[str, list[str]]], per_client: int, per_conversation: int,
                     window: float) -> float:
    """The least time the scripts take at these limits (the server's answers take more)."""
    messages = sum(len(m) for _, m in scripts)
    longest = max((len(m) for _, m in scripts), default=0)
    by_client = ((messages - 1) // max(1, per_client)) * window if messages else 0.0
    by_conversation = ((longest - 1) // max(1, per_conversation)) * window if longest else 0.0
    return float(max(by_client, by_conversation))


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if minutes < 10 and seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _reason(response: requests.Response) -> str:
    try:
        said = response.json().get("error")
    except (ValueError, AttributeError):
        said = None
    return f"HTTP {response.status_code}" + (f" ({said})" if isinstance(said, str) else "")


class _Play:
    """One run: the shared pacer, the counts and the progress lines."""

    def __init__(self, settings: Settings, scripts: list[tuple[str, list[str]]],
                 progress: Optional[Callable[[str], None]], every: float) -> None:
        self.webhook = f"{settings.rasa_url}/webhooks/rest/webhook"
        self.window = float(settings.rate_window_seconds)
        self.per_client = settings.rate_per_client
        self.per_conversation = settings.rate_per_conversation
        self.client = Pacer(self.per_client, self.window)
        self.total_messages = sum(len(m) for _, m in scripts)
        self.total = len(scripts)
        self.progress, self.every = progress, every
        self.report = DemoReport()
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.last_line = self.started
        self.stopped = False
        self.pacers: set[Pacer] = set()  # the conversations' own, stopped with the run

    def say(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)

    def accepted(self) -> None:
        with self.lock:
            self.report.messages += 1

    def refused(self, what: str, wait: float) -> None:
        with self.lock:
            self.report.refused += 1
            first = self.report.refused == 1
        if first:
            self.say(f"  the server refused a message: {what}; waiting {duration(wait)} as it asks, "
                     "then sending the same message again")

    def finished(self, failed: Optional[Failed]) -> None:
        with self.lock:
            self.report.conversations += 1
            if failed is not None:
                self.report.failed.append(failed)
            now = time.monotonic()
            due = now - self.last_line >= self.every or self.report.conversations == self.total
            if due:
                self.last_line = now
            line = self._line(now) if due else None
        if failed is not None:
            self.say(f"  {failed.conversation_id} failed after {failed.arrived} of {failed.total} messages: {failed.reason}")
        if line:
            self.say(line)

    def _line(self, now: float) -> str:
        report, elapsed = self.report, now - self.started
        left = self.total_messages - report.messages
        at_limit = left / max(1, self.per_client) * self.window if left > self.per_client else 0.0
        # What the server managed so far, once there is enough of it to go by (its answers may
        # take longer than the limit allows for).
        observed = left / (report.messages / elapsed) if report.messages and elapsed >= 2 * self.window else 0.0
        remaining = "" if report.conversations == self.total else f", about {duration(max(at_limit, observed))} left"
        refused = f", {report.refused} refused with 429 and sent again" if report.refused else ""
        failed = f", {report.failures} failed" if report.failures else ""
        return (f"  {report.conversations}/{self.total} conversations, {report.messages}/{self.total_messages} "
                f"messages{refused}{failed}; {duration(elapsed)} in{remaining}")

    def play(self, sender: str, messages: list[str]) -> Optional[Failed]:
        """Send the script's messages in order, each until the server accepts it; None when all arrived."""
        conversation = Pacer(self.per_conversation, self.window)
        with self.lock:
            self.pacers.add(conversation)
        try:
            return self._play(conversation, sender, messages)
        except Exception as error:  # a conversation is reported, never lost
            return Failed(sender, 0, len(messages), f"{error.__class__.__name__}: {error}")
        finally:
            with self.lock:
                self.pacers.discard(conversation)

    def _play(self, conversation: Pacer, sender: str, messages: list[str]) -> Optional[Failed]:
        with requests.Session() as session:
            for arrived, message in enumerate(messages):
                refusals = 0
                while True:
                    taken = self.client.acquire() if conversation.wait_free() and not self.stopped else None
                    if taken is None:
                        return Failed(sender, arrived, len(messages), "interrupted")
                    conversation.note(taken)
                    try:
                        response = session.post(self.webhook, json={"sender": sender, "message": message},
                                                timeout=REQUEST_TIMEOUT)
                    except requests.RequestException as error:
                        return Failed(sender, arrived, len(messages), f"{error.__class__.__name__}: {error}")
                    if response.status_code != 429:
                        break
                    refusals += 1
                    wait = retry_after_seconds(response, refusals, self.window)
                    if refusals > REFUSALS_PER_MESSAGE or wait > max(2 * self.window, 120.0):
                        return Failed(sender, arrived, len(messages),
                                      f"{_reason(response)}: refused {refusals} times, the server asks to wait "
                                      f"{duration(wait)} more")
                    scope = _scope(response)
                    self.refused(_reason(response), wait)
                    (conversation if scope == "conversation" else self.client).pause(wait)
                if response.status_code != 200:
                    return Failed(sender, arrived, len(messages), _reason(response))
                self.accepted()
        return None

    def stop(self) -> None:
        self.client.stop()
        with self.lock:
            for pacer in self.pacers:
                pacer.stop()
            self.stopped = True


def _scope(response: requests.Response) -> str:
    """Which limit a 429 is about: "conversation" (only that conversation waits) or the client's."""
    try:
        limit = response.json().get("limit")
    except (ValueError, AttributeError):
        limit = None
    return "conversation" if limit == "conversation" else "client"


def play_demo_traffic(settings: Settings, conversations: int, seed: int = 7, workers: int = 4,
                      progress: Optional[Callable[[str], None]] = None, every: float = 15.0,
                      run: Optional[str] = None) -> DemoReport:
    """Play `conversations` demo visitors through the REST channel, within the server's limits.

    `progress` gets the plan (how long it takes at the limits), a line every `every` seconds and
    one per failed conversation. Every conversation ends up complete or in the report's
    `failed`, with how far it got and why; Ctrl-C stops the run and reports the unfinished."""
    run = run or uuid.uuid4().hex[:6]
    scripts = demo_scripts(conversations, seed, run)
    state = _Play(settings, scripts, progress, every)
    state.report.run = run
    least = estimate_seconds(scripts, state.per_client, state.per_conversation, state.window)
    window = duration(state.window)
    pace = (f"about {duration(least)} at least" if least >= 1 else "the limits do not slow it down")
    state.say(f"playing {len(scripts)} demo conversations ({state.total_messages} messages) through {state.webhook}")
    state.say(f"  within the server's limits: {state.per_client} messages every {window} from this address "
              f"(LANTERN_RATE_PER_CLIENT), {state.per_conversation} into one conversation "
              f"(LANTERN_RATE_PER_CONVERSATION); {pace}")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(state.play, sender, messages): (sender, messages) for sender, messages in scripts}
        counted: set[Future[Optional[Failed]]] = set()
        try:
            for future in as_completed(futures):
                counted.add(future)
                state.finished(future.result())
        except KeyboardInterrupt:
            state.stop()
            for future, (sender, messages) in futures.items():
                if future in counted:
                    continue
                if future.cancel():
                    state.finished(Failed(sender, 0, len(messages), "not started: interrupted"))
                else:
                    state.finished(future.result())
            state.say("  interrupted")
    state.report.seconds = time.monotonic() - state.started
    return state.report
