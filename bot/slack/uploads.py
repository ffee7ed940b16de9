"""Files shared into a thread through Slack's upload flow, streamed from disk (files v2, by hand).

slack_sdk's `files_upload_v2` reads every file into memory before posting it; a 256 MiB log zip would then
live in the bot process. The same three steps are done here with the body streamed from the file:
`files.getUploadURLExternal` (with the length), a POST of the raw bytes to the URL it returns, then
`files.completeUploadExternal` to share them all in one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

UPLOAD_TIMEOUT = 300.0  # seconds for one file's body; a 256 MiB zip at a modest 1 MiB/s still fits


class UploadFailed(Exception):
    """The upload URL refused the body (its status and text are in the message)."""


@dataclass(frozen=True)
class Upload:
    filename: str
    title: str
    path: Path | None = None  # streamed from disk
    content: bytes = b""  # small texts (an excerpt)

    @property
    def length(self) -> int:
        return self.path.stat().st_size if self.path is not None else len(self.content)


async def share_files(
    client: AsyncWebClient, *, channel: str, thread_ts: str | None, initial_comment: str, files: list[Upload]
) -> None:
    uploaded: list[dict[str, str | None]] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT)) as session:
        for item in files:
            answer = await client.files_getUploadURLExternal(filename=item.filename, length=item.length)
            url, file_id = str(answer["upload_url"]), str(answer["file_id"])
            await _post_body(session, url, item, client)
            uploaded.append({"id": file_id, "title": item.title})
    await client.files_completeUploadExternal(
        files=uploaded, channel_id=channel, thread_ts=thread_ts, initial_comment=initial_comment
    )


async def _post_body(session: aiohttp.ClientSession, url: str, item: Upload, client: AsyncWebClient) -> None:
    if item.path is None:
        await _post(session, url, item.content, client)
        return
    with item.path.open("rb") as body:  # aiohttp sends a file object in small chunks
        await _post(session, url, body, client)


async def _post(session: aiohttp.ClientSession, url: str, body: object, client: AsyncWebClient) -> None:
    ssl = client.ssl if client.ssl is not None else True
    async with session.post(url, data=body, ssl=ssl, proxy=client.proxy) as response:
        if response.status != 200:
            text = (await response.text())[:200]
            raise UploadFailed(f"upload of a file answered {response.status}: {text}")
