"""What to tell a person when Slack refuses to let the bot write somewhere, one sentence per refusal.

Shared by delivery (a card that cannot be posted) and intake (a request that cannot be answered there).
"""

from __future__ import annotations

BOT_NAME = "vpncheck"

_ADVICE = {
    "not_in_channel": (
        f"I am not a member of that channel: invite me with `/invite @{BOT_NAME}` and ask again."
    ),
    "channel_not_found": (
        f"I cannot see that channel (private channels need an invitation): `/invite @{BOT_NAME}` there and "
        "ask again."
    ),
    "is_archived": "That channel is archived: ask in an active channel.",
    "restricted_action": "Only some members may post in that channel: ask in another channel.",
    "restricted_action_read_only_channel": "That channel is read-only: ask in another channel.",
    "restricted_action_thread_only_channel": "That channel only allows replies in threads.",
    "cannot_reply_to_message": "That thread is locked: ask in the channel or another thread.",
    "thread_not_found": "That thread was deleted: ask again in the channel.",
    "msg_blocks_too_long": "The card was too long for Slack.",
}


def explain_refusal(code: str) -> str:
    """A sentence the requester can act on for a Slack error code (a generic one for unknown codes)."""
    return _ADVICE.get(code, f"Slack refused it (`{code}`).")
