"""The official OpenAI SDK through the proxy (Chat Completions and Responses, streaming and
not): it gets exactly what the upstream sent, and the ledger holds the exact usage and cost."""

import json
import urllib.request
from decimal import Decimal

import openai
import pytest

MESSAGES = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}]


def client(url):
    return openai.OpenAI(base_url=url + "/v1", api_key="sk-openai-test", max_retries=0)


def check_usage(rec, prices, model, prompt, cached, completion, reasoning):
    assert (rec["input_tokens"], rec["cache_read_tokens"], rec["output_tokens"], rec["reasoning_tokens"]) == (
        prompt - cached, cached, completion, reasoning)
    assert Decimal(rec["cost_usd"]) == prices.cost(model, prompt - cached, cached, 0, 0, completion)
    assert rec["cost_known"] == 1 and rec["incomplete"] == 0


@pytest.mark.parametrize("scenario", ["ok", "cache"])
def test_chat_create(proxy, fake, prices, scenario):
    kw = dict(model="gpt-5", messages=MESSAGES, extra_headers={"x-fake-scenario": scenario})
    via = client(proxy.url).chat.completions.create(**kw)
    direct = client(fake).chat.completions.create(**kw)
    assert via.model_dump() == direct.model_dump()
    u = via.usage
    check_usage(proxy.last(), prices, "gpt-5", u.prompt_tokens, u.prompt_tokens_details.cached_tokens,
                u.completion_tokens, u.completion_tokens_details.reasoning_tokens)


def test_chat_stream_without_include_usage_sees_no_usage_chunk(proxy, fake, prices):
    kw = dict(model="gpt-5", messages=MESSAGES, stream=True, extra_headers={"x-fake-scenario": "cache"})
    via = [c.model_dump() for c in client(proxy.url).chat.completions.create(**kw)]
    direct = [c.model_dump() for c in client(fake).chat.completions.create(**kw)]
    assert via == direct
    assert all(c["usage"] is None and c["choices"] for c in via)
    check_usage(proxy.last(), prices, "gpt-5", 2010, 2000, 42, 10)


def test_chat_stream_with_include_usage(proxy, fake, prices):
    kw = dict(model="gpt-5", messages=MESSAGES, stream=True, stream_options={"include_usage": True})
    via = [c.model_dump() for c in client(proxy.url).chat.completions.create(**kw)]
    direct = [c.model_dump() for c in client(fake).chat.completions.create(**kw)]
    assert via == direct
    assert via[-1]["choices"] == [] and via[-1]["usage"]["prompt_tokens"] == 25
    check_usage(proxy.last(), prices, "gpt-5", 25, 0, 12, 0)


def test_chat_stream_raw_bytes_identical_without_include_usage(proxy, fake):
    body = json.dumps({"model": "gpt-5", "stream": True, "messages": MESSAGES}).encode()
    got = []
    for url in (proxy.url, fake):
        req = urllib.request.Request(url + "/v1/chat/completions", data=body, method="POST",
                                     headers={"content-type": "application/json", "authorization": "Bearer k"})
        with urllib.request.urlopen(req) as r:
            got.append(r.read())
    assert got[0] == got[1]
    assert got[0].endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize("stream", [False, True])
def test_responses(proxy, fake, prices, stream):
    kw = dict(model="gpt-5", instructions="Be terse.", input="hi", extra_headers={"x-fake-scenario": "cache"})
    if stream:
        via = [e.model_dump() for e in client(proxy.url).responses.create(stream=True, **kw)]
        direct = [e.model_dump() for e in client(fake).responses.create(stream=True, **kw)]
        assert via == direct
        assert via[-1]["type"] == "response.completed"
        u = via[-1]["response"]["usage"]
    else:
        via = client(proxy.url).responses.create(**kw)
        direct = client(fake).responses.create(**kw)
        assert via.model_dump() == direct.model_dump()
        assert via.output_text == "Hello from the fake upstream."
        u = via.model_dump()["usage"]
    check_usage(proxy.last(), prices, "gpt-5", u["input_tokens"], u["input_tokens_details"]["cached_tokens"],
                u["output_tokens"], u["output_tokens_details"]["reasoning_tokens"])


def test_unknown_model_is_unpriced(proxy):
    client(proxy.url).chat.completions.create(model="brand-new-model-x", messages=MESSAGES)
    rec = proxy.last()
    assert rec["cost_known"] == 0 and rec["cost_usd"] is None


def test_errors_reach_the_sdk(proxy):
    with pytest.raises(openai.RateLimitError):
        client(proxy.url).chat.completions.create(model="gpt-5", messages=MESSAGES,
                                                  extra_headers={"x-fake-scenario": "429"})
    rec = proxy.last()
    assert (rec["status"], rec["error"]) == (429, "requests")
