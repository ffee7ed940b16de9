"""Issue 16: the sandbox workspace in a real headless browser (Debian's Chromium driven by Playwright).

A person types `/vpncheck …` into the composer, sees the card, clicks *Re-run* and sees the second card:
every step goes through the bot's signed HTTP path, as from Slack. Skipped, with the reason, where no
Chromium is installed (README, "Try it by hand"). `VPNCHECK_UPDATE_SCREENSHOT=1` also writes the README's
screenshot, docs/browser-view.png.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from sandbox.browser import BrowserView
from sandbox.drive import SandboxAddress
from sandbox.runner import Sandbox
from tests.e2e.conftest import Running, start_bot, stop_bot

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "browser-view.png"

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (dev extras)"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on PATH: `apt-get install chromium` (see README, Try it by hand)"
)


async def test_command_typed_card_visible_rerun_clicked_second_card_visible_mention_answered_in_thread(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    # with the first look: its chart is a shared PNG the page must show (served from the emulator's upload)
    bot = await start_bot(sandbox, env_scope, VPNCHECK_FIRST_LOOK="true")
    try:
        await drive_the_page(bot)
    finally:
        await stop_bot(bot)


async def drive_the_page(bot: Running) -> None:
    where = SandboxAddress(bot.sandbox.signing_secret, bot.sandbox.slack.url, bot.bot_url)
    assert CHROMIUM is not None
    async with (
        BrowserView(bot.sandbox.slack, where) as view,
        BrowserView(bot.sandbox.slack, dataclasses.replace(where, signing_secret="not-the-secret")) as forged,
        playwright_api.async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 1000})
            await page.goto(view.url + "?channel=C0NETOPS&user=U0ONCALL01")
            await page.fill("#compose input[name=text]", "/vpncheck cn-psk-mismatch")
            await page.press("#compose input[name=text]", "Enter")
            rerun = page.locator("form.click button", has_text="Re-run")
            expect = playwright_api.expect
            await expect(rerun).to_have_count(1, timeout=60_000)  # the card, with its buttons
            await expect(page.locator(".thread .header").first).to_be_visible()
            chart = page.locator(".thread img.picture").first
            await expect(chart).to_be_visible()
            assert await chart.evaluate("img => img.complete && img.naturalWidth > 0"), (
                "the chart did not load"
            )
            if os.environ.get("VPNCHECK_UPDATE_SCREENSHOT"):
                await page.evaluate("document.getElementById('messages').scrollTop = 0")
                await page.screenshot(path=str(SCREENSHOT))
            await rerun.first.click()
            await expect(rerun).to_have_count(2, timeout=60_000)  # the re-run's card in the same thread
            await expect(page.locator(".thread")).to_have_count(1)
            await expect(page.locator(".edited").first).to_be_visible()  # the parent was updated in place
            # a mention typed into the thread's reply box is an `app_mention` event in that thread
            replies = page.locator(".replies .message")
            before = await replies.count()
            reply_box = page.locator(".thread .composer.reply input[name=text]")
            await reply_box.fill("@vpncheck check cn-psk-mismatch")
            await reply_box.press("Enter")
            # the person's message (<@U…> drawn as a name), then the bot's answer under it
            await expect(replies.nth(before)).to_contain_text("@vpncheck check cn-psk-mismatch")
            await expect(replies.nth(before + 1)).to_contain_text("cn-psk-mismatch", timeout=60_000)
            # signed with the wrong secret, the bot answers 401 and the page says so (nothing silently lost)
            await page.goto(forged.url)
            await page.fill("#compose input[name=text]", "/vpncheck cn-healthy")
            await page.press("#compose input[name=text]", "Enter")
            await expect(page.locator(".notice")).to_contain_text("the bot answered HTTP 401")
            await page.goto(view.url + "home?user=U0ONCALL01")  # App Home: opening it asks the bot
            await expect(page.locator("#messages .empty")).to_have_count(0, timeout=30_000)
            await expect(page.locator("#messages")).to_contain_text("vpncheck")
        finally:
            await browser.close()
