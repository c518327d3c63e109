"""Fixtures: the real `promptmeter proxy` binary in front of the fake upstream, both on
loopback; the ledger read straight from its SQLite file; prices from the bundled catalog."""

import json
import os
import sqlite3
import subprocess
import threading
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bin() -> Path:
    p = os.environ.get("PROMPTMETER_BIN")
    if p:
        return Path(p)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "promptmeter"


def _fake_bin() -> Path:
    p = os.environ.get("PROMPTMETER_FAKE_UPSTREAM")
    return Path(p) if p else _bin().parent / "fake-upstream"


def _start(cmd, marker, cwd=None, env=None, stream="stdout"):
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL,
        stderr=subprocess.PIPE if stream == "stderr" else subprocess.DEVNULL,
        text=True,
        cwd=cwd,
        env=env,
    )
    out = proc.stdout if stream == "stdout" else proc.stderr
    for line in out:
        if marker in line:
            url = line.split(marker, 1)[1].split()[0]
            # keep draining so the child never blocks on a full pipe
            threading.Thread(target=lambda: [None for _ in out], daemon=True).start()
            return proc, url
    proc.kill()
    raise RuntimeError(f"{cmd[0]} did not start")


@pytest.fixture(scope="session")
def fake():
    proc, url = _start([str(_fake_bin()), "--port", "0"], "listening on ")
    yield url
    proc.kill()
    proc.wait()


class Proxy:
    def __init__(self, url: str, ledger: Path, proc):
        self.url = url
        self.ledger = ledger
        self.proc = proc

    def records(self):
        """Every request in the ledger, oldest first, as dicts."""
        # The proxy's own endpoints wait until every response already released is committed
        # (a response goes out once its record is spooled; the commit follows).
        urllib.request.urlopen(self.url + "/_promptmeter/summary", timeout=10).read()
        con = sqlite3.connect(f"file:{self.ledger}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute("SELECT * FROM requests ORDER BY ts_ms, id")]
        finally:
            con.close()

    def last(self):
        recs = self.records()
        assert recs, "the ledger is empty"
        return recs[-1]


@pytest.fixture()
def proxy(fake, tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path))
    cmd = [str(_bin()), "proxy", "--listen", "127.0.0.1:0", "--ledger", str(ledger),
           "--anthropic-upstream", fake, "--openai-upstream", fake, "--gemini-upstream", fake]
    proc, url = _start(cmd, "listening on ", cwd=tmp_path, env=env, stream="stderr")
    yield Proxy(url, ledger, proc)
    proc.kill()
    proc.wait()


class Prices:
    """Per-token prices from the catalog snapshot bundled in the binary (LiteLLM format)."""

    def __init__(self):
        self.data = json.loads((ROOT / "server/core/data/catalog-snapshot.json").read_text())

    def cost(self, model, input=0, cache_read=0, w5=0, w1=0, output=0):
        m = self.data[model]
        p = lambda k: Decimal(str(m[k])) if m.get(k) is not None else None  # noqa: E731
        inp = p("input_cost_per_token")
        cr = p("cache_read_input_token_cost") or inp
        c5 = p("cache_creation_input_token_cost") or inp * Decimal("1.25")
        c1 = p("cache_creation_input_token_cost_above_1hr") or inp * 2
        out = p("output_cost_per_token")
        return (input * inp + cache_read * cr + w5 * c5 + w1 * c1 + output * out).normalize()


@pytest.fixture(scope="session")
def prices():
    return Prices()
