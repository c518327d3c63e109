-- A small test runner for real headless Neovim: register tests, run them in order, print
-- "ok"/"not ok" lines and a closing "N passed, N failed", exit non-zero on any failure.
-- Waits have a generous bound only so that a broken feature fails instead of hanging; no test
-- asserts on how long anything takes.
local H = {}

local tests = {}
local cleanups = {}

H.root = assert(vim.env.PROMPTMETER_ROOT)
H.bin = vim.env.PROMPTMETER_BIN or (H.root .. "/target/debug/promptmeter")
H.fake_upstream = vim.env.PROMPTMETER_FAKE_UPSTREAM or (vim.fs.dirname(H.bin) .. "/fake-upstream")
---The fake's "cache" scenario: 10 uncached input, 2,000 cache reads, 100 + 200 cache writes, 42 output.
H.SCENARIO = "cache"
H.out = vim.env.PROMPTMETER_TEST_OUT or (H.root .. "/tests/out")
H.WAIT_MS = tonumber(vim.env.PROMPTMETER_WAIT_MS or "") or 30000

-- Server features named in $PROMPTMETER_E2E_SKIP (comma-separated) are reported missing by
-- the stage script: tests that need one are skipped, and say which feature.
local missing = {}
for feature in (vim.env.PROMPTMETER_E2E_SKIP or ""):gmatch("[^,]+") do
  missing[feature] = true
end

---@param name string
---@param fn fun()
---@param opts? { needs?: string[] } server features the test needs
function H.test(name, fn, opts)
  table.insert(tests, { name = name, fn = fn, needs = opts and opts.needs or {} })
end

---@param fn fun()
function H.cleanup(fn)
  table.insert(cleanups, fn)
end

function H.fail(msg)
  error(msg, 2)
end

function H.eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    error(("%s: expected %s, got %s"):format(what or "value", vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function H.ok(cond, what)
  if not cond then
    error(what or "assertion failed", 2)
  end
end

---@param s string
---@param pattern string Lua pattern
function H.matches(s, pattern, what)
  if type(s) ~= "string" or not s:find(pattern) then
    error(("%s: %s does not match %q"):format(what or "text", vim.inspect(s), pattern), 2)
  end
end

---Waits until cond() returns a truthy value and returns it; fails with `desc` if it never does.
---@generic T
---@param desc string
---@param cond fun(): T
---@param timeout_ms? integer
---@return T
function H.wait_for(desc, cond, timeout_ms)
  local value
  local ok = vim.wait(timeout_ms or H.WAIT_MS, function()
    value = cond()
    return value ~= nil and value ~= false
  end, 20)
  if not ok then
    error("never happened: " .. desc, 2)
  end
  return value
end

---A fresh directory under the test's temp root.
---@param name string
---@return string
function H.tmpdir(name)
  local dir = vim.fs.joinpath(assert(vim.env.PROMPTMETER_NVIM_TMP, "PROMPTMETER_NVIM_TMP"), name)
  vim.fn.delete(dir, "rf")
  vim.fn.mkdir(dir, "p")
  return dir
end

---@param path string
---@param text string
function H.write(path, text)
  vim.fn.mkdir(vim.fs.dirname(path), "p")
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

---@param path string
---@return string
function H.read(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("*a")
  f:close()
  return s
end

---A TCP port that was free a moment ago on 127.0.0.1.
---@return integer
function H.free_port()
  local tcp = assert(vim.uv.new_tcp())
  assert(tcp:bind("127.0.0.1", 0))
  local port = tcp:getsockname().port
  tcp:close()
  return port
end

---Starts a process that is killed when the tests end; its output goes to PROMPTMETER_TEST_OUT.
---@param cmd string[]
---@param opts? { cwd?: string, env?: table<string,string>, log?: string, append?: boolean }
---@return vim.SystemObj
function H.spawn(cmd, opts)
  opts = opts or {}
  local log = opts.log and assert(io.open(vim.fs.joinpath(H.out, opts.log), opts.append and "a" or "w"))
  local function sink(_, data)
    if data and log then
      log:write(data)
      log:flush()
    end
  end
  local proc = vim.system(cmd, { cwd = opts.cwd, env = opts.env, stdout = sink, stderr = sink, text = true })
  H.cleanup(function()
    if not proc:is_closing() then
      proc:kill("sigterm")
      proc:wait(5000)
    end
    if log then
      log:close()
    end
  end)
  return proc
end

---Waits until http://127.0.0.1:port/path answers 200.
---@param port integer
---@param path string
---@param desc string
function H.wait_http(port, path, desc)
  local http = require("promptmeter.http")
  H.wait_for(desc, function()
    local status = http.get(("http://127.0.0.1:%d%s"):format(port, path), 1000)
    return status == 200
  end)
end

---Starts the project's fake upstream (tests/fakes/README.md, exact provider wire formats) and
---the real `promptmeter proxy` in front of it, configured through the user config file of the
---isolated XDG_CONFIG_HOME (which the language server reads too).
---@param extra_toml? string appended to the config (budgets)
---@return { url: string, port: integer }
function H.start_proxy(extra_toml)
  local fake_port = H.free_port()
  H.spawn({ H.fake_upstream, "--port", tostring(fake_port) }, { log = "nvim/fake-upstream.log" })
  H.wait_http(fake_port, "/_fake/health", "fake upstream healthy")
  local port = H.free_port()
  local url = ("http://127.0.0.1:%d"):format(port)
  H.write(vim.env.XDG_CONFIG_HOME .. "/promptmeter/config.toml", table.concat({
    "[proxy]",
    ('listen = "127.0.0.1:%d"'):format(port),
    ('ledger = "%s/ledger.sqlite"'):format(vim.env.XDG_DATA_HOME),
    "",
    "[proxy.upstreams]",
    ('anthropic = "http://127.0.0.1:%d"'):format(fake_port),
    "",
    "[lsp]",
    ('feed_url = "%s/_promptmeter/feed"'):format(url),
    "",
    extra_toml or "",
  }, "\n"))
  local proxy = { url = url, port = port }
  ---(Re)starts the proxy on its port with the same config and ledger.
  function proxy.start()
    local cmd = { H.bin, "proxy", "--listen", ("127.0.0.1:%d"):format(port) }
    proxy.proc = H.spawn(cmd, { log = "nvim/proxy.log", append = proxy.proc ~= nil })
    H.wait_http(port, "/_promptmeter/health", "promptmeter proxy healthy")
  end
  ---Stops it (SIGTERM) and waits for it to exit.
  function proxy.stop()
    proxy.proc:kill("sigterm")
    proxy.proc:wait(H.WAIT_MS)
  end
  proxy.start()
  return proxy
end

---One Anthropic Messages request through the proxy.
---@param proxy { url: string }
---@param opts? { model?: string, stream?: boolean }
---@return string body
function H.send_request(proxy, opts)
  opts = opts or {}
  local body = vim.json.encode({
    model = opts.model or "claude-sonnet-4-5",
    max_tokens = 64,
    stream = opts.stream or false,
    messages = { { role = "user", content = "hello" } },
  })
  local status, answer = require("promptmeter.http").request("POST", proxy.url .. "/v1/messages", {
    body = body,
    headers = {
      ["content-type"] = "application/json",
      ["x-api-key"] = "test-key",
      ["anthropic-version"] = "2023-06-01",
      ["x-fake-scenario"] = H.SCENARIO,
    },
    timeout_ms = H.WAIT_MS,
  })
  if status ~= 200 then
    error(("proxy answered %s: %s"):format(tostring(status), answer), 2)
  end
  return answer
end

---Records every vim.notify call (window/showMessage ends there too).
---@return { msg: string, level: integer? }[]
function H.capture_notify()
  local seen = {}
  local orig = vim.notify
  vim.notify = function(msg, level)
    table.insert(seen, { msg = msg, level = level })
  end
  H.cleanup(function()
    vim.notify = orig
  end)
  return seen
end

---Lines of the floating windows now open.
---@return string[][]
function H.floats()
  local out = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      table.insert(out, vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false))
    end
  end
  return out
end

function H.run()
  local passed, failed, skipped = 0, 0, 0
  local only = vim.env.PROMPTMETER_TEST_ONLY
  for _, t in ipairs(tests) do
    local absent = vim.tbl_filter(function(f)
      return missing[f]
    end, t.needs)
    if #absent > 0 then
      skipped = skipped + 1
      io.stdout:write(("\nskip - %s (server feature missing: %s)\n"):format(t.name, table.concat(absent, ", ")))
    elseif not only or t.name:find(only, 1, true) then
      local ok, e = xpcall(t.fn, debug.traceback)
      if ok then
        passed = passed + 1
        io.stdout:write(("\nok - %s\n"):format(t.name))
      else
        failed = failed + 1
        io.stdout:write(("\nnot ok - %s\n%s\n"):format(t.name, e))
      end
    end
  end
  for i = #cleanups, 1, -1 do
    pcall(cleanups[i])
  end
  io.stdout:write(("\n%d passed, %d failed, %d skipped\n"):format(passed, failed, skipped))
  io.stdout:flush()
  if failed > 0 then
    vim.cmd("cquit 1")
  else
    vim.cmd("qall!")
  end
end

return H
