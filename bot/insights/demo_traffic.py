"""Demo traffic for a fresh install: varied visitor scripts played through the real REST
channel, so the dashboard has something to show (`lantern demo-traffic --conversations N`).

Every demo conversation id starts with `DEMO_PREFIX`, which marks all the rows it leaves in
the application database; `lantern demo-traffic --remove` deletes them. The scripts cover
every topic of the default knowledge base, follow-ups ("tell me more", "why?", "what else?"),
feedback both ways, questions the knowledge base does not answer (in its field and far from
it), and a few buyers who go through the lead form.
"""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

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


@dataclass
class DemoReport:
    conversations: int = 0
    messages: int = 0
    failures: int = 0


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


def play_demo_traffic(settings: Settings, conversations: int, seed: int = 7, workers: int = 4) -> DemoReport:
    """Play `conversations` demo visitors through the REST channel; returns what happened."""
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    scripts = [(f"{DEMO_PREFIX}{run}-{n:05d}", visitor_script(rng)) for n in range(conversations)]
    webhook = f"{settings.rasa_url}/webhooks/rest/webhook"
    report = DemoReport()

    def play(item: tuple[str, list[str]]) -> tuple[int, bool]:
        sender, messages = item
        with requests.Session() as session:
            for sent, message in enumerate(messages, start=1):
                try:
                    response = session.post(webhook, json={"sender": sender, "message": message}, timeout=60)
                    response.raise_for_status()
                except requests.RequestException:
                    return sent, False
        return len(messages), True

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for sent, ok in pool.map(play, scripts):
            report.conversations += 1
            report.messages += sent
            report.failures += 0 if ok else 1
    return report
