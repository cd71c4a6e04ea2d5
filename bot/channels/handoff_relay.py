"""The live handoff's moving parts inside the Rasa server: the reps' clicks and thread replies
from Slack, the visitor's messages to the thread, and the wait for a rep running out.

Why here: the Rasa server already receives Slack's signed requests (bot/channels/slack.py) and
saves every turn (the tracker store's hook), so relaying takes no other process. The state is
in the application database (bot/handoff/live.py), so it makes no difference which replica,
or which run of the server, handles the next click or message. The bot is silenced with
Rasa's own ConversationPaused (returned by action_create_lead) and woken with
ConversationResumed: a paused conversation still stores every visitor message, so the
transcript, the brief and insights stay complete.

Every message the relay posts into the brief's thread (the visitor's words, who has the
conversation, how it ended, nobody came) is recorded with `record_slack_post`, so `lantern
privacy forget` deletes it from Slack with the brief.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.slack_events import HandoffClick, ThreadReply
from bot.handoff import live, live_messages
from bot.handoff.brief import ArticleRead, Contact, LeadBrief, slack_blocks
from bot.handoff.leads import Announcement, get_lead
from bot.handoff.slack_api import SlackApi, SlackApiError
from bot.knowledge.index_store import read_index_state
from bot.privacy.forget import record_slack_post
from bot.rasa_integration.conversations import append_to_conversation, bot_message, paused_since, resumed
from bot.settings import Settings

logger = logging.getLogger(__name__)


def brief_message(settings: Settings, lead_id: Optional[int], conversation_id: str) -> dict[str, Any]:
    """The lead's brief as posted to the sales channel, rebuilt from the stored lead."""
    found = get_lead(settings.db_url, lead_id) if lead_id is not None else None
    if found is None:
        return {"text": f"Conversation {conversation_id}", "blocks": []}
    lead, _ = found
    stored = dict(lead.brief or {})
    articles = [ArticleRead(**a) for a in stored.pop("articles_read", []) or []]
    brief = LeadBrief(articles_read=articles, **stored)
    contact = Contact(lead.name, lead.email, lead.company, lead.follow_up)
    return slack_blocks(lead.id, contact, brief, Announcement.from_settings(settings).transcript_url(conversation_id))


def lead_email(settings: Settings, lead_id: Optional[int]) -> Optional[str]:
    found = get_lead(settings.db_url, lead_id) if lead_id is not None else None
    return found[0].email if found else None


class HandoffRelay:
    """One per Rasa server process; `agent` is set when the server starts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api = SlackApi(settings.slack_bot_token or "", settings.slack_api_url)
        self.agent: Any = None
        self.slack_output: Any = None  # (channel, thread_ts) -> OutputChannel, for Slack visitors
        self._tasks: set[asyncio.Task] = set()
        self._replies_in_order = asyncio.Lock()  # a rep's quick replies reach the visitor in order

    @property
    def db_url(self) -> str:
        return self.settings.db_url

    @property
    def wait(self) -> str:
        return live_messages.duration(self.settings.handoff_wait_seconds)

    async def _slack(self, method: str, **args: Any) -> Optional[dict[str, Any]]:
        """A Slack call off the event loop; a failure is logged, never raised into a turn."""
        try:
            return await asyncio.to_thread(self.api.call, method, **args)
        except SlackApiError:
            logger.exception("Slack %s failed", method)
            return None

    async def _post_in_thread(self, handoff: live.Handoff, **message: Any) -> None:
        """Post into the brief's thread and record the post (channel, ts, conversation), so that
        forgetting the conversation deletes it from Slack like the brief."""
        if not (handoff.slack_channel and handoff.slack_ts):
            return
        answer = await self._slack("chat.postMessage", channel=handoff.slack_channel, thread_ts=handoff.slack_ts,
                                   **message)
        ts = (answer or {}).get("ts")
        if not ts:
            return
        channel = str((answer or {}).get("channel") or handoff.slack_channel)
        try:
            await asyncio.to_thread(record_slack_post, self.db_url, channel, str(ts),
                                    conversation_id=handoff.conversation_id, lead_id=handoff.lead_id)
        except Exception:  # never raised into a turn; said loudly, as forget cannot delete it
            logger.exception("could not record Slack post %s in %s: forget will not delete it", ts, channel)

    # The visitor's side.

    async def _tell_visitor(self, handoff: live.Handoff, events: list[Event]) -> None:
        tracker = await append_to_conversation(self.agent, handoff.conversation_id, events)
        if handoff.visitor_channel == "slack" and self.slack_output is not None:
            await self._post_to_slack_visitor(tracker, [e for e in events if getattr(e, "text", None)])

    async def _post_to_slack_visitor(self, tracker: DialogueStateTracker, messages: list[Any]) -> None:
        metadata = (tracker.latest_message.metadata if tracker.latest_message else None) or {}
        channel = metadata.get("slack_channel")
        if not channel:
            return
        parts = tracker.sender_id.split(":")
        thread_ts = parts[3] if len(parts) == 4 else None  # slack:user:channel:thread
        output = self.slack_output(channel, thread_ts)
        for message in messages:
            metadata = message.metadata or {}
            rep = None if metadata.get(live_messages.NOTICE_KEY) else metadata.get(live_messages.REP_KEY)
            text = f"*{rep['name']}:* {message.text}" if rep else message.text
            await output.send_text_message(channel, text)

    # Slack: the reps' side.

    async def on_click(self, click: HandoffClick) -> None:
        name = await asyncio.to_thread(self.api.display_name, click.user)
        if click.action == live_messages.TAKE:
            await self._take(click, name)
        elif click.action == live_messages.HAND_BACK:
            await self._end(click, name, closing=False)
        else:
            await self._end(click, name, closing=True)

    async def _take(self, click: HandoffClick, name: str) -> None:
        result = await asyncio.to_thread(live.take, self.db_url, click.handoff_id, click.user, name)
        handoff = result.handoff
        if handoff is None:
            await self._slack("chat.postEphemeral", channel=click.channel, user=click.user,
                              text="That conversation is not known here any more.")
            return
        if not result.won:
            await self._slack("chat.postEphemeral", channel=click.channel, user=click.user,
                              text=live_messages.already_taken(handoff.rep_name, handoff.state), thread_ts=handoff.slack_ts)
            return
        brief = await asyncio.to_thread(brief_message, self.settings, handoff.lead_id, handoff.conversation_id)
        if handoff.slack_channel and handoff.slack_ts:
            await self._slack("chat.update", channel=handoff.slack_channel, ts=handoff.slack_ts,
                              **live_messages.taken(brief, name))
            await self._post_in_thread(handoff, **live_messages.rep_controls(handoff.id, name))
        state = await asyncio.to_thread(read_index_state, self.db_url)
        company = state.company if state is not None else None
        await self._tell_visitor(handoff, [bot_message(
            live_messages.joined(name, company),
            {live_messages.NOTICE_KEY: "joined", live_messages.REP_KEY: {"id": click.user, "name": name}},
        )])

    async def _end(self, click: HandoffClick, name: str, closing: bool) -> None:
        ender = live.close if closing else live.hand_back
        handoff = await asyncio.to_thread(ender, self.db_url, click.handoff_id, click.user, name)
        if handoff is None:
            current = await asyncio.to_thread(live.get_handoff, self.db_url, click.handoff_id)
            owner = current.rep_name if current else None
            if current is not None and current.state == live.WITH_REP and current.rep_id != click.user:
                text = f"Only {owner} can end this conversation (or use `lantern handoff release {current.id}`)."
            else:
                text = "This conversation is not with a rep any more."
            await self._slack("chat.postEphemeral", channel=click.channel, user=click.user, text=text)
            return
        how = (f":lock: *Closed by {name}.*" if closing else f":leftwards_arrow_with_hook: *{name} handed it back to Lantern.*")
        await self._update_brief(handoff, how)
        await self._post_in_thread(handoff, text=how.replace(":lock: ", "").replace(":leftwards_arrow_with_hook: ", "")
                                   + " Nothing written here reaches the visitor any more.")
        text = live_messages.back_after_close(name) if closing else live_messages.back_after_hand_back(name)
        notice = "closed" if closing else "back"
        await self._tell_visitor(handoff, [*resumed(), bot_message(text, {live_messages.NOTICE_KEY: notice})])

    async def _update_brief(self, handoff: live.Handoff, how: str) -> None:
        if not (handoff.slack_channel and handoff.slack_ts):
            return
        brief = await asyncio.to_thread(brief_message, self.settings, handoff.lead_id, handoff.conversation_id)
        await self._slack("chat.update", channel=handoff.slack_channel, ts=handoff.slack_ts, **live_messages.ended(brief, how))

    async def on_thread_reply(self, reply: ThreadReply) -> None:
        async with self._replies_in_order:
            await self._relay_reply(reply)

    async def _relay_reply(self, reply: ThreadReply) -> None:
        handoff = await asyncio.to_thread(live.handoff_by_thread, self.db_url, reply.channel, reply.thread_ts)
        if handoff is None or live_messages.is_note(reply.text) or not reply.text:
            return  # another thread of the sales channel, or an internal note: never relayed
        if handoff.state != live.WITH_REP or handoff.rep_id != reply.user:
            if handoff.state == live.WITH_REP:
                text = f"Not sent: only {handoff.rep_name}'s replies reach the visitor. Start with `note:` for a note."
            elif handoff.state == live.WAITING:
                text = "Not sent: take the conversation first (the button on the brief)."
            else:
                text = "Not sent: this conversation is back with Lantern."
            await self._slack("chat.postEphemeral", channel=reply.channel, user=reply.user, text=text, thread_ts=reply.thread_ts)
            return
        rep = {"id": reply.user, "name": handoff.rep_name or reply.user}
        await self._tell_visitor(handoff, [bot_message(reply.text, {live_messages.REP_KEY: rep, "lantern_handoff_id": handoff.id})])
        await asyncio.to_thread(live.record_first_reply, self.db_url, handoff.id)

    # The tracker store's hook: what the visitor says while waiting for or talking to a rep.

    async def on_events_saved(self, conversation_id: str, new_events: list[Event], tracker: DialogueStateTracker) -> None:
        paused_at = paused_since(tracker)
        if paused_at is None:
            return
        first_new = len(tracker.events) - len(new_events)
        said = [
            e for position, e in enumerate(new_events, start=first_new)
            if position > paused_at and isinstance(e, UserUttered) and not (e.metadata or {}).get("lantern_hidden")
        ]
        if not said:
            return
        handoff = await asyncio.to_thread(live.active_handoff, self.db_url, conversation_id)
        if handoff is None or not (handoff.slack_channel and handoff.slack_ts):
            return
        for event in said:
            shown = (event.metadata or {}).get("lantern_display") or event.text or ""
            await self._post_in_thread(handoff, text=live_messages.visitor_said(shown))

    # Nobody comes.

    async def watch_timeouts(self, interval: float = 1.0) -> None:
        """Until cancelled: hand every expired wait back to the bot, honestly, and ping the channel."""
        while True:
            try:
                await self.time_out_expired()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("checking live handoffs for time-outs failed")
            await asyncio.sleep(interval)

    async def time_out_expired(self) -> None:
        expired = await asyncio.to_thread(live.time_out_expired, self.db_url, self.settings.handoff_wait_seconds)
        for handoff in expired:
            email = await asyncio.to_thread(lead_email, self.settings, handoff.lead_id)
            await self._update_brief(handoff, f":hourglass: *Nobody took it within {self.wait}.* "
                                              "The visitor was told and offered email.")
            await self._post_in_thread(handoff, text=live_messages.timeout_ping(self.wait, email))
            await self._tell_visitor(handoff, [*resumed(), bot_message(
                live_messages.nobody_came(email), {live_messages.NOTICE_KEY: "timed_out"})])

    def in_background(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
