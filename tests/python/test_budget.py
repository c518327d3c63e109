"""Budgets and routing through the real `promptmeter proxy` with the official Python SDKs
(anthropic, openai) as clients and the project's fake upstream (tests/fakes/README.md).

Prices of the fake's usage (25 input, 12 output tokens) from the bundled catalog:
claude-opus-4-8 $0.000425, claude-sonnet-4-5 $0.000255, gpt-5 $0.00015125.
"""

import json
import os
import pathlib
import subprocess
import tempfile
import threading

import anthropic
import openai
import pytest

try:  # the SDKs' own HTTP library (httpx2 in their newer releases)
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
BIN = pathlib.Path(os.environ.get("PROMPTMETER_BIN", TARGET / "debug" / "promptmeter"))
FAKE = BIN.parent / "fake-upstream"


def _listening(proc, marker):
    """Read the child's output until it says where it listens."""
    stream = proc.stdout if marker == "fake" else proc.stderr
    seen = []
    for line in stream:
        seen.append(line)
        if "listening on http://" in line:
            return line.split("listening on http://")[1].split()[0]
    raise RuntimeError(f"{marker} exited before listening: {''.join(seen)}")


@pytest.fixture(scope="module")
def fake():
    proc = subprocess.Popen([str(FAKE), "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        yield "http://" + _listening(proc, "fake")
    finally:
        proc.kill()
        proc.wait()


class Proxy:
    def __init__(self, fake_url, config):
        self.dir = tempfile.TemporaryDirectory()
        d = pathlib.Path(self.dir.name)
        (d / "cfg" / "promptmeter").mkdir(parents=True)
        (d / "cfg" / "promptmeter" / "config.toml").write_text(config)
        env = dict(os.environ, XDG_CONFIG_HOME=str(d / "cfg"), PROMPTMETER_LOG="promptmeter_proxy=info")
        self.proc = subprocess.Popen(
            [str(BIN), "proxy", "--listen", "127.0.0.1:0", "--ledger", str(d / "ledger.sqlite"),
             "--anthropic-upstream", fake_url, "--openai-upstream", fake_url],
            cwd=d, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.url = "http://" + _listening(self.proc, "proxy")
        self.log = []
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()
        self.sent = []  # requests the SDKs put on the wire
        hooks = {"request": [self.sent.append]}
        self.anthropic = anthropic.Anthropic(base_url=self.url, api_key="sk-ant-test", max_retries=2,
                                             http_client=httpx.Client(event_hooks=hooks))
        self.openai = openai.OpenAI(base_url=self.url + "/v1", api_key="sk-test", max_retries=2,
                                    http_client=httpx.Client(event_hooks=hooks))

    def budget(self, name):
        s = httpx.get(self.url + "/_promptmeter/summary").json()
        return next(b for b in s["budgets"] if b["name"] == name)

    def last(self):
        return httpx.get(self.url + "/_promptmeter/requests?limit=1").json()[0]

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.dir.cleanup()


@pytest.fixture
def proxy_with(fake):
    made = []

    def make(config):
        p = Proxy(fake, config)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


class FeedAlerts:
    """Collects `alert` events from the live feed on a thread."""

    def __init__(self, url):
        self.alerts = []
        self.ready = threading.Event()
        threading.Thread(target=self._run, args=(url,), daemon=True).start()
        assert self.ready.wait(20), "feed hello"

    def _run(self, url):
        try:
            with httpx.stream("GET", url + "/_promptmeter/feed", timeout=None) as r:
                event = None
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        if event == "hello":
                            self.ready.set()
                        elif event == "alert":
                            self.alerts.append(json.loads(line[6:]))
        except httpx.HTTPError:
            pass  # the proxy was stopped at the end of the test


def user(text="hi"):
    return [{"role": "user", "content": text}]


def test_pressure_caps_task_rules_and_alerts_with_the_sdks(proxy_with):
    p = proxy_with(
        '[budgets.weekly]\nwindow = "week"\nusd = "0.002"\n'
        '[[routing.tasks]]\nname = "heartbeat"\ntask = "heartbeat"\nmodel = "claude-haiku-4-5"\n')
    feed = FeedAlerts(p.url)
    # Four Opus requests: 21%, 42%, 64%, 85%; none is capped (each is decided before its cost).
    for _ in range(4):
        m = p.anthropic.messages.create(model="claude-opus-4-8", max_tokens=12, messages=user())
        assert m.model == "claude-opus-4-8"
    assert p.budget("weekly")["pressure"] == 0.85
    # From 85%: a streamed Opus request is served by Sonnet, and the SDK sees it.
    with p.anthropic.messages.stream(model="claude-opus-4-8", max_tokens=12, messages=user()) as s:
        final = s.get_final_message()
    assert final.model == "claude-sonnet-4-5"
    last = p.last()
    assert last["reroute"]["rule"] == "pressure>85% weekly"
    assert last["reroute"]["from"] == "claude-opus-4-8"
    # Sonnet itself is not dearer than the cap: left alone... but now we are above 95%.
    assert p.budget("weekly")["pressure"] >= 0.95
    c = p.openai.chat.completions.create(model="gpt-5", messages=user())
    assert c.model == "gpt-5-nano"
    # A Responses request continuing a previous response keeps its model.
    r = p.openai.responses.create(model="gpt-5", input="next", previous_response_id="resp_prev")
    assert r.model == "gpt-5"
    assert p.last()["reroute"] is None
    # A task rule, through the SDK's extra headers.
    m = p.anthropic.messages.create(model="claude-sonnet-4-5", max_tokens=12, messages=user(),
                                    extra_headers={"x-promptmeter-task": "heartbeat"})
    assert m.model == "claude-haiku-4-5"
    assert p.last()["reroute"]["rule"] == "task:heartbeat"

    deadline = threading.Event()
    for _ in range(200):
        if len(feed.alerts) >= 4:
            break
        deadline.wait(0.05)
    assert [a["threshold"] for a in feed.alerts] == [0.5, 0.85, 0.95, 1.0], feed.alerts
    assert feed.alerts[0]["message"].startswith("Weekly budget at 63% ($0.0013 of $0.0020)")


def test_hard_limit_refusals_reach_the_sdks_once_in_their_own_error_types(proxy_with):
    p = proxy_with(
        '[budgets.daily]\nwindow = "day"\nusd = "0.0005"\nhard_limit = true\n'
        '[routing.pressure]\nenabled = false\n')
    for _ in range(2):
        p.anthropic.messages.create(model="claude-sonnet-4-5", max_tokens=12, messages=user())
    before = len(p.sent)
    with pytest.raises(anthropic.APIStatusError) as err:
        p.anthropic.messages.create(model="claude-sonnet-4-5", max_tokens=12, messages=user())
    e = err.value
    assert e.status_code == 402
    assert e.body["error"]["type"] == "billing_error"
    assert "[budgets.daily]" in e.body["error"]["message"]
    assert len(p.sent) == before + 1, "x-should-retry: false stops the SDK's retries"

    with pytest.raises(openai.RateLimitError) as err:
        p.openai.chat.completions.create(model="gpt-5", messages=user())
    assert err.value.code == "promptmeter_budget"
    assert err.value.type == "insufficient_quota"
    assert "Daily budget is used up" in err.value.message
    assert len(p.sent) == before + 2, "not retried either"

    # Streams are refused before they start, with the same error.
    with pytest.raises(anthropic.APIStatusError) as err:
        with p.anthropic.messages.stream(model="claude-sonnet-4-5", max_tokens=12, messages=user()) as s:
            s.get_final_message()
    assert err.value.status_code == 402
