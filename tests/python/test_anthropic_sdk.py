"""The official Anthropic SDK through the proxy: it gets exactly what the upstream sent,
and the ledger holds the exact usage and cost."""

import urllib.request
from decimal import Decimal

import anthropic
import pytest

MODEL = "claude-sonnet-4-5"
SYSTEM = "# Rules\nBe terse.\n\n# Style\nNo emoji.\n"
MESSAGES = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"},
            {"role": "user", "content": "what is 2+2?"}]


def client(url, **kw):
    return anthropic.Anthropic(base_url=url, api_key="sk-ant-test-key", max_retries=0, **kw)


@pytest.mark.parametrize("scenario", ["ok", "cache"])
def test_messages_create(proxy, fake, prices, scenario):
    headers = {"x-fake-scenario": scenario}
    kw = dict(model=MODEL, max_tokens=100, system=SYSTEM, messages=MESSAGES, extra_headers=headers)
    via = client(proxy.url).messages.create(**kw)
    direct = client(fake).messages.create(**kw)
    assert via.model_dump() == direct.model_dump()
    assert via.content[0].text == "Hello from the fake upstream."
    rec = proxy.last()
    u = via.usage
    w5 = u.cache_creation.ephemeral_5m_input_tokens
    w1 = u.cache_creation.ephemeral_1h_input_tokens
    assert (rec["input_tokens"], rec["cache_read_tokens"], rec["cache_write_5m_tokens"],
            rec["cache_write_1h_tokens"], rec["output_tokens"]) == (
        u.input_tokens, u.cache_read_input_tokens, w5, w1, u.output_tokens)
    assert Decimal(rec["cost_usd"]) == prices.cost(MODEL, u.input_tokens, u.cache_read_input_tokens, w5, w1,
                                                   u.output_tokens)
    assert rec["cost_known"] == 1 and rec["incomplete"] == 0 and rec["stream"] == 0


def test_messages_stream(proxy, fake, prices):
    kw = dict(model=MODEL, max_tokens=100, system=SYSTEM, messages=MESSAGES,
              extra_headers={"x-fake-scenario": "cache"})
    results = []
    for url in (proxy.url, fake):
        with client(url).messages.stream(**kw) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        results.append((text, final.model_dump()))
    assert results[0] == results[1]
    assert results[0][0] == "Hello from the fake upstream."
    usage = results[0][1]["usage"]
    rec = proxy.last()
    assert rec["stream"] == 1 and rec["incomplete"] == 0
    assert (rec["input_tokens"], rec["cache_read_tokens"], rec["output_tokens"]) == (
        usage["input_tokens"], usage["cache_read_input_tokens"], usage["output_tokens"])
    assert Decimal(rec["cost_usd"]) == prices.cost(MODEL, 10, 2000, 100, 200, 42)


def test_raw_stream_bytes_are_identical(proxy, fake):
    body = b'{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
    got = []
    for url in (proxy.url, fake):
        req = urllib.request.Request(url + "/v1/messages", data=body, method="POST",
                                     headers={"content-type": "application/json", "x-api-key": "k",
                                              "anthropic-version": "2023-06-01"})
        with urllib.request.urlopen(req) as r:
            got.append(r.read())
    assert got[0] == got[1]
    assert got[0].startswith(b"event: message_start\n")


def test_errors_reach_the_sdk_as_the_provider_sent_them(proxy):
    c = client(proxy.url)
    with pytest.raises(anthropic.RateLimitError) as e:
        c.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES, extra_headers={"x-fake-scenario": "429"})
    assert e.value.status_code == 429
    assert e.value.body["error"]["type"] == "rate_limit_error"
    with pytest.raises(anthropic.InternalServerError):
        c.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES, extra_headers={"x-fake-scenario": "529"})
    recs = proxy.records()
    assert [(r["status"], r["error"]) for r in recs] == [(429, "rate_limit_error"), (529, "overloaded_error")]
    assert all(Decimal(r["cost_usd"]) == 0 and r["cost_known"] == 1 for r in recs)


def test_session_header_and_count_tokens(proxy):
    c = client(proxy.url, default_headers={"x-claude-code-session-id": "cc-42"})
    c.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert c.messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens == 25
    recs = proxy.records()
    assert len(recs) == 1  # count_tokens is passed through, not billed
    assert recs[0]["session"] == "cc-42"
