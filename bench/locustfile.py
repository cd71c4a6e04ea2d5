"""Locust visitors for `make bench`: scripted conversations through the REST channel.

Each simulated visitor plays one script at a time under a fresh conversation id, sending
the next message as soon as the previous reply arrives (no think time), so the figures
measure capacity. The same scripts are sent to the stock `rasa init` bot for comparison.
"""

import itertools
import uuid

from locust import HttpUser, constant, task

DISCOVERY = [
    "hi",
    "nobody visits our website since we relaunched it",
    "visits fell by half in march",
    "we get fewer enquiries every week",
    "we tried posting more on social media",
    "tell me more",
    "thanks",
]
FOLLOW_UPS = [
    "how do we get customers to leave more reviews?",
    "why does that matter?",
    "what else",
    "that didn't help",
    "yes",
]
OFF_DOMAIN = [
    "hello",
    "how do i stop my tractor engine overheating?",
    "what's the weather in paris tomorrow",
    "bye",
]
CLEAR_INTENT = [
    "our newsletter keeps landing in spam",
    "just show me",
    "ok, can i get a quote for fixing this?",
    "yes please",
    "Dana Reyes",
    "dana@harbourfoods.example",
    "Harbour Foods",
    "a call",
    "yes",
]
_ids = itertools.count()


class Visitor(HttpUser):
    wait_time = constant(0)

    def converse(self, script_name: str, messages: list[str]) -> None:
        sender = f"bench-{script_name}-{next(_ids)}-{uuid.uuid4().hex[:6]}"
        for message in messages:
            self.client.post(
                "/webhooks/rest/webhook",
                json={"sender": sender, "message": message},
                name=f"/webhook [{script_name}]",
                timeout=60,
            )

    @task(4)
    def discovery(self) -> None:
        self.converse("discovery", DISCOVERY)

    @task(3)
    def follow_ups(self) -> None:
        self.converse("follow-ups", FOLLOW_UPS)

    @task(2)
    def off_domain(self) -> None:
        self.converse("off-domain", OFF_DOMAIN)

    @task(1)
    def clear_intent(self) -> None:
        self.converse("clear-intent", CLEAR_INTENT)
