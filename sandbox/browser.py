"""The sandbox workspace in a browser: `python -m sandbox start` serves it and prints its URL.

It reads the Slack emulator's state in-process (same event loop as the stand-ins) and draws it with the pure
functions of sandbox/browser_html.py. What a person types or clicks is sent to the bot exactly as Slack
sends it: a signed slash command, `app_mention` event or `block_actions` payload from sandbox/slack_client.py,
the same path as `python -m sandbox send|click` (sandbox/drive.py). The bot cannot tell it from Slack.

The page refreshes itself by fetching `?fragment=1` twice a second: the emulator runs in this process, but
the browser is another one and plain polling keeps the page a static file with no build step.
"""

from __future__ import annotations

import urllib.parse
from types import TracebackType

from aiohttp import web

from sandbox.browser_html import blocks_html, channel_html, page_html
from sandbox.drive import Driver, SandboxAddress
from sandbox.slack_api import SlackEmulator
from sandbox.slack_client import BotResponse

DEFAULT_USER = "U0ONCALL01"
DEFAULT_CHANNEL = "C0NETOPS"


class BrowserView:
    """A small web server over one Slack emulator, sending to the bot at `where.bot_url`."""

    def __init__(
        self, slack: SlackEmulator, where: SandboxAddress, *, host: str = "127.0.0.1", port: int = 0
    ):
        self.slack = slack
        self.where = where
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> BrowserView:
        app = web.Application()
        app.add_routes(
            [
                web.get("/", self._channel),
                web.get("/home", self._home),
                web.get("/files/{file_id}", self._file),
                web.post("/send", self._send),
                web.post("/click", self._click),
            ]
        )
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.url = f"http://{self._host}:{self._runner.addresses[0][1]}/"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    # -- reading --------------------------------------------------------------------------------------
    @staticmethod
    def _user(request: web.Request) -> str:
        return request.query.get("user") or request.cookies.get("user") or DEFAULT_USER

    def _page(self, request: web.Request, *, title: str, current: str | None, body: str) -> web.Response:
        user = self._user(request)
        if request.query.get("fragment"):
            response = web.Response(text=body, content_type="text/html")
        else:
            state = self.slack.state
            seen = dict.fromkeys([DEFAULT_CHANNEL, *(t.channel for t in state.threads())])
            names = state.workspace.display_names()
            channels = [(cid, state.workspace.channel_name(cid)) for cid in seen]
            page = page_html(
                title=title, channels=channels, current=current, user=user, body=body,
                composer_channel=current, names=names, notice=request.query.get("error", ""),
            )  # fmt: skip
            response = web.Response(text=page, content_type="text/html")
        response.set_cookie("user", user, samesite="Strict")  # a click or a message is sent as this person
        return response

    async def _channel(self, request: web.Request) -> web.Response:
        channel = request.query.get("channel") or DEFAULT_CHANNEL
        state = self.slack.state
        names = state.workspace.display_names()
        body = channel_html(state.threads(channel), state.ephemerals(channel, self._user(request)), names)
        title = f"# {state.workspace.channel_name(channel)}"
        return self._page(request, title=title, current=channel, body=body)

    async def _home(self, request: web.Request) -> web.Response:
        """The App Home tab: opening it sends `app_home_opened`; the bot's view shows once published."""
        user = self._user(request)
        state = self.slack.state
        if not request.query.get("fragment"):
            await Driver(self.where, user=user, channel=DEFAULT_CHANNEL).slack.app_home_opened(
                self.where.bot_url, user_id=user
            )
        view = state.home(user)
        body = (
            blocks_html(view.get("blocks", []), state.workspace.display_names())
            if view
            else '<div class="empty">Waiting for the bot to publish your App Home…</div>'
        )
        return self._page(request, title="vpncheck · Home", current=None, body=body)

    async def _file(self, request: web.Request) -> web.Response:
        found = self.slack.state.file_index.get(request.match_info["file_id"])
        if found is None or not found.uploaded:
            raise web.HTTPNotFound()
        kind = {"png": "image/png", "svg": "image/svg+xml", "jpg": "image/jpeg", "gif": "image/gif"}
        ext = found.name.rsplit(".", 1)[-1].lower()
        return web.Response(body=found.content, content_type=kind.get(ext, "application/octet-stream"))

    # -- acting: signed, as Slack would ---------------------------------------------------------------
    async def _send(self, request: web.Request) -> web.Response:
        form = await request.post()
        channel = str(form.get("channel") or DEFAULT_CHANNEL)
        text = str(form.get("text") or "").strip()
        thread_ts = str(form.get("thread_ts") or "") or None
        if not text:
            raise web.HTTPSeeOther(_back(channel))
        driver = Driver(self.where, user=self._user(request), channel=channel)
        sent = await driver.send(text, thread_ts=thread_ts)
        raise web.HTTPSeeOther(_back(channel, sent))

    async def _click(self, request: web.Request) -> web.Response:
        form = await request.post()
        channel = str(form["channel"])
        clicked = await Driver(self.where, user=self._user(request), channel=channel).slack.block_action(
            self.where.bot_url,
            channel_id=channel,
            message_ts=str(form["message_ts"]),
            action_id=str(form["action_id"]),
            user_id=self._user(request),
        )
        raise web.HTTPSeeOther(_back(channel, clicked))


def _back(channel: str, sent: BotResponse | None = None) -> str:
    """Back to the channel; a request the bot answered with an HTTP error says so on the page."""
    query = {"channel": channel}
    if sent is not None and sent.status != 200:
        query["error"] = f"the bot answered HTTP {sent.status}: {sent.body[:300]}"
    return "./?" + urllib.parse.urlencode(query)
