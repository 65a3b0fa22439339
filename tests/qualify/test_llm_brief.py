"""The optional LLM brief: an OpenAI-compatible loopback server rewrites the
default, and every failure or invented number falls back to the default."""

from __future__ import annotations

import json

from firsttouch.config import Secret
from firsttouch.qualify.brief import write_brief
from firsttouch.qualify.llm_brief import LlmBriefWriter
from firsttouch.qualify.scoring import score_lead
from firsttouch.workspace import Workspace

from .facts_for import vp_sales_at_saas
from .loopback import Reply, Request, serve


def _answer(text: str) -> dict[str, object]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "local",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": text},
            }
        ],
    }


def _default(workspace: Workspace) -> tuple[str, object]:
    facts = vp_sales_at_saas()
    return write_brief(facts, score_lead(workspace.icp, facts), "AP automation"), facts


def test_the_rewrite_is_used_when_it_keeps_to_the_facts(workspace: Workspace) -> None:
    default, facts = _default(workspace)
    seen: list[dict[str, object]] = []

    def complete(request: Request) -> Reply:
        seen.append(json.loads(request.body))
        assert request.headers["Authorization"] == "Bearer llm-key"
        return Reply(
            200,
            _answer(
                "Dana Ruiz (lead) runs sales at Acme Analytics, "
                "200 employees (lead); route rep now."
            ),
        )

    with serve({"/v1/chat/completions": complete}) as server:
        writer = LlmBriefWriter(
            base_url=server.url + "/v1",
            model="local",
            api_key=Secret("llm-key"),
            timeout=2,
        )
        result = writer.rewrite(default, facts)  # type: ignore[arg-type]
    assert result.source == "llm" and result.text.startswith("Dana Ruiz")
    request = seen[0]
    assert request["model"] == "local" and request["temperature"] == 0
    user = json.loads(request["messages"][1]["content"])  # type: ignore[index]
    assert user["default_brief"] == default


def test_an_invented_number_falls_back_to_the_default(workspace: Workspace) -> None:
    default, facts = _default(workspace)
    with serve(
        {
            "/chat/completions": Reply(
                200, _answer("Dana has a $2,500,000 budget and 7 open roles.")
            )
        }
    ) as server:
        result = LlmBriefWriter(base_url=server.url, model="m").rewrite(default, facts)  # type: ignore[arg-type]
    assert (result.text, result.source) == (default, "template")
    assert "numbers not in the facts" in (result.note or "")


def test_a_server_error_or_timeout_falls_back_to_the_default(
    workspace: Workspace,
) -> None:
    default, facts = _default(workspace)
    routes = {
        "/down/chat/completions": Reply(500, {"error": "boom"}),
        "/slow/chat/completions": Reply(200, _answer("late"), delay=1.0),
        "/odd/chat/completions": Reply(200, {"choices": []}),
    }
    with serve(routes) as server:
        for prefix in ("/down", "/slow", "/odd"):
            writer = LlmBriefWriter(
                base_url=server.url + prefix, model="m", timeout=0.3
            )
            result = writer.rewrite(default, facts)  # type: ignore[arg-type]
            assert (result.text, result.source) == (default, "template"), prefix


def test_two_paragraphs_are_refused(workspace: Workspace) -> None:
    default, facts = _default(workspace)
    with serve({"/chat/completions": Reply(200, _answer("One.\n\nTwo."))}) as server:
        result = LlmBriefWriter(base_url=server.url, model="m").rewrite(default, facts)  # type: ignore[arg-type]
    assert result.source == "template"
