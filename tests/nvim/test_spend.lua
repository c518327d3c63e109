-- Live spend: the real proxy (fake upstream) feeds the real language server, whose
-- `promptmeter/spend` notifications drive the statusline. No polling anywhere.
local H = require("helpers")
local sl = require("promptmeter.statusline")

local proxy = H.start_proxy()
local ws = H.tmpdir("ws")
H.write(ws .. "/CLAUDE.md", "# Project\n\nRun the tests before you commit.\n")
vim.fn.mkdir(ws .. "/.git", "p")
vim.cmd.cd(ws)
require("promptmeter").setup({ server_path = H.bin, proxy_url = proxy.url })

H.test("connected to the proxy: the statusline shows today's spend", function()
  vim.cmd.edit(ws .. "/CLAUDE.md")
  H.wait_for("statusline connected", function()
    return sl.text():find(" today$")
  end)
  H.eq(sl.text(), "$0.00 today", "nothing spent yet")
  H.eq(sl.get().proxyUrl, proxy.url, "proxyUrl")
end, { needs = { "spend" } })

H.test("a request through the proxy updates the statusline with that response", function()
  local before = sl.text()
  H.send_request(proxy, { model = "claude-sonnet-4-5" })
  H.wait_for("statusline changes after a request", function()
    return sl.text() ~= before
  end)
  local spend = sl.get()
  H.matches(sl.text(), "^%$%d+%.%d+ today$")
  H.eq(spend.last.provider, "anthropic", "provider")
  H.eq(spend.last.model, "claude-sonnet-4-5", "model")
  -- the fake upstream's "cache" scenario: 10 uncached input, 2,000 cache reads, 42 output
  H.eq({ spend.last.inputTokens, spend.last.cachedTokens, spend.last.outputTokens }, { 10, 2000, 42 }, "tokens")
  H.ok(tonumber(spend.last.costUsd) > 0, "priced: " .. tostring(spend.last.costUsd))
  H.eq(tonumber(spend.todayUsd), tonumber(spend.last.costUsd), "today is this one response")
  H.eq(spend.byProvider.anthropic and tonumber(spend.byProvider.anthropic), tonumber(spend.todayUsd), "per provider")
  H.write(H.out .. "/nvim/statusline-after-request.txt", sl.text() .. "\n" .. table.concat(sl.details(), "\n") .. "\n")
end, { needs = { "spend" } })

H.test(":Promptmeter info shows the last response", function()
  local seen = H.capture_notify()
  vim.cmd("Promptmeter info")
  H.matches(seen[1] and seen[1].msg, "last: anthropic claude%-sonnet%-4%-5: 10 in, 2000 cached, 42 out, %$0%.0028")
  H.matches(seen[1].msg, "server: " .. vim.pesc(H.bin) .. " lsp")
end, { needs = { "spend" } })

H.test("a streamed request adds to the day", function()
  local first = tonumber(sl.get().todayUsd)
  H.send_request(proxy, { model = "claude-sonnet-4-5", stream = true })
  H.wait_for("today's spend doubles", function()
    local today = tonumber(sl.get().todayUsd)
    return today and math.abs(today - 2 * first) < 1e-9
  end)
end, { needs = { "spend" } })

H.test(":checkhealth promptmeter finds the proxy and the running server", function()
  vim.cmd.edit(ws .. "/CLAUDE.md")
  H.wait_for("promptmeter attached", function()
    return vim.lsp.get_clients({ name = "promptmeter", bufnr = 0 })[1]
  end)
  vim.cmd("checkhealth promptmeter")
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  vim.cmd("bwipeout!")
  H.ok(text:find("proxy reachable at " .. proxy.url, 1, true), text)
  H.ok(text:find("language server %d+ running"), text)
end)

H.test("the statusline says so when the proxy stops, and reconnects when it is back", function()
  local before = sl.text()
  H.matches(before, " today$")
  proxy.stop()
  H.wait_for("statusline 'pm: no proxy'", function()
    return sl.text() == "pm: no proxy"
  end)
  proxy.start()
  -- the ledger keeps the day's spend: it comes back as it was
  H.wait_for("statusline reconnected with the same spend", function()
    return sl.text() == before
  end)
end, { needs = { "spend" } })

H.run()
