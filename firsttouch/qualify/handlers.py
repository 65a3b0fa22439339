"""Job handlers of this layer, by job kind; the worker entry point maps them.

``qualify.inbound`` (payload ``{"inbound_id": N}``) enriches, scores, briefs
and routes one inbound. Its fact sources are built once per process from
the workspace's ``icp.enrichment`` section; a test or the demo may hand in
its own through ``runtime.services["qualify.providers"]`` (a list) and
``runtime.services["qualify.llm"]`` (an ``LlmBriefWriter``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from firsttouch.errors import ConfigError, EnrichmentError, InputError
from firsttouch.qualify.llm_brief import LlmBriefWriter
from firsttouch.qualify.providers.base import Provider
from firsttouch.qualify.providers.directory import DirectoryProvider
from firsttouch.qualify.providers.dns_mx import DnsMxProvider
from firsttouch.qualify.providers.offline import EmailProvider, TitleProvider
from firsttouch.qualify.providers.people_data_labs import PeopleDataLabsProvider
from firsttouch.qualify.providers.website import WebsiteProvider
from firsttouch.qualify.qualification import qualify_inbound

if TYPE_CHECKING:
    from firsttouch.jobs.runner import Handler, JobContext
    from firsttouch.runtime import Runtime

log = structlog.get_logger(__name__)


def _workspace_dir(runtime: Runtime) -> Path:
    source = runtime.workspace.source_path
    return source.parent if source is not None else Path(".")


def build_providers(runtime: Runtime) -> list[Provider]:
    """The fact sources the workspace turns on, in order of trust."""
    override = runtime.services.get("qualify.providers")
    if override is not None:
        return list(override)

    config = runtime.workspace.icp.enrichment
    providers: list[Provider] = [EmailProvider(), TitleProvider()]
    if config.directory.path:
        path = _workspace_dir(runtime) / config.directory.path
        try:
            providers.append(
                DirectoryProvider(
                    path, fuzzy_threshold=config.directory.fuzzy_threshold
                )
            )
        except EnrichmentError as exc:
            # A missing file loses one source, not every score.
            log.warning("qualify.directory_unavailable", error=str(exc))
    paid = config.paid_api
    if paid.enabled:
        if not paid.base_url or not paid.api_key_env:
            raise ConfigError(
                "icp.enrichment.paid_api is enabled but base_url or api_key_env "
                "is missing; set both or turn it off"
            )
        providers.append(
            PeopleDataLabsProvider(
                base_url=paid.base_url,
                api_key=runtime.settings.secret(paid.api_key_env),
                timeout=paid.timeout_seconds,
            )
        )
    if config.website.enabled:
        providers.append(
            WebsiteProvider(
                timeout=config.website.timeout_seconds,
                max_bytes=config.website.max_bytes,
                max_redirects=config.website.max_redirects,
            )
        )
    if config.dns.enabled:
        providers.append(
            DnsMxProvider(
                nameservers=config.dns.nameservers,
                port=config.dns.port,
                timeout=config.dns.timeout_seconds,
            )
        )
    return providers


def build_llm(runtime: Runtime) -> LlmBriefWriter | None:
    """The brief rewriter, when the workspace turns one on."""
    if "qualify.llm" in runtime.services:
        writer: LlmBriefWriter | None = runtime.services["qualify.llm"]
        return writer
    config = runtime.workspace.icp.enrichment.llm_brief
    if not config.enabled:
        return None
    if not config.base_url:
        raise ConfigError("icp.enrichment.llm_brief is enabled but has no base_url")
    key = runtime.settings.secret(config.api_key_env) if config.api_key_env else None
    return LlmBriefWriter(
        base_url=config.base_url,
        model=config.model,
        api_key=key,
        timeout=config.timeout_seconds,
    )


def _inbound_id(payload: dict[str, Any]) -> int:
    try:
        return int(payload["inbound_id"])
    except (KeyError, TypeError, ValueError):
        raise InputError(
            "qualify.inbound needs a payload like {'inbound_id': 12}, "
            f"got {payload!r}"
        ) from None


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """Return this layer's handlers, keyed by the job kinds it owns."""
    built: dict[str, Any] = {}

    def qualify(ctx: JobContext) -> None:
        # Sources are built on first use: a worker that never qualifies never
        # reads the directory file.
        if "providers" not in built:
            built["providers"] = build_providers(runtime)
            built["llm"] = build_llm(runtime)
        qualify_inbound(
            ctx.db,
            runtime.workspace,
            _inbound_id(ctx.payload),
            providers=built["providers"],
            llm=built["llm"],
            now=ctx.clock.now(),
        )

    return {"qualify.inbound": qualify}
