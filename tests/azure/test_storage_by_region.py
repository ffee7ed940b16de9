"""Storage per region: the worker names the storage account mapped to the target's region (or subscription and
region) in the troubleshoot call, reads the zip from that account's container, and the Logs button fetches it
from there; other regions keep the default account. Real sockets, real SDKs, Azurite."""

from __future__ import annotations

from bot.models import Target, Verdict
from sandbox.processes import Azurite
from sandbox.tls import SandboxTLS
from tests.azure.conftest import STORAGE_ACCOUNT_ID, AzureStack, Checkpoints
from tests.conftest import new_log_container

NEU_ACCOUNT = STORAGE_ACCOUNT_ID.replace("/rg-vpncheck/", "/rg-vpncheck-neu/")


async def test_each_region_uses_its_own_account(stack: AzureStack, azurite: Azurite, tls: SandboxTLS) -> None:
    neu = await new_log_container(azurite, tls)
    mapping = {"North Europe": (NEU_ACCOUNT, neu)}
    engine = stack.make_engine(storage_by_region=mapping)
    target = await engine.resolve("gw-prod-neu")  # northeurope
    assert isinstance(target, Target)
    report = await engine.run(target, checkpoint=None, save_checkpoint=Checkpoints().save)
    assert report.verdict is Verdict.WARNING, report.message
    [post] = stack.arm.troubleshoot_posts("gw-prod-neu")
    assert post.body["properties"] == {"storageId": NEU_ACCOUNT, "storagePath": neu}
    [op] = stack.arm.runs("gw-prod-neu")
    assert report.logs is not None and report.logs.blob_name == op.blob_name
    assert report.logs.container_url == neu and report.logs.findings
    async with engine.log_zip_file(op.blob_name or "", report.logs.container_url) as path:
        assert path.stat().st_size > 0  # the button reads the zip from the region's container

    other = await engine.resolve("gw-prod-weu")  # westeurope: not mapped, the default account
    assert isinstance(other, Target)
    await engine.run(other, checkpoint=None, save_checkpoint=Checkpoints().save)
    [post] = stack.arm.troubleshoot_posts("gw-prod-weu")
    assert post.body["properties"] == {"storageId": STORAGE_ACCOUNT_ID, "storagePath": stack.container_url}


async def test_subscription_and_region_beats_region(
    stack: AzureStack, azurite: Azurite, tls: SandboxTLS
) -> None:
    by_region, by_sub = await new_log_container(azurite, tls), await new_log_container(azurite, tls)
    sub = "6d1f3b52-8a4e-4c9b-b7f0-2e5a9c1d4f80"
    engine = stack.make_engine(
        storage_by_region={
            "northeurope": (NEU_ACCOUNT, by_region),
            f"{sub}/northeurope": (NEU_ACCOUNT, by_sub),
        }
    )
    target = await engine.resolve("gw-prod-neu")
    assert isinstance(target, Target) and target.subscription_id == sub
    assert engine.storage_for(target) == (NEU_ACCOUNT, by_sub)
    # A container URL that is not configured is never used (stored data cannot redirect a download).
    assert engine._container_url("https://elsewhere.example/x") == stack.container_url
