-- Budget alerts: a weekly budget smaller than two responses. Crossing thresholds raises
-- window/showMessage (shown through vim.notify) and recolours the statusline.
local H = require("helpers")
local sl = require("promptmeter.statusline")

-- One response of the fake upstream's "cache" scenario on claude-sonnet-4-5 costs about
-- $0.0028: the first is over 50% of $0.004, the second over 100%.
local proxy = H.start_proxy(table.concat({
  "[budgets]",
  "alert_at = [50, 85, 100]",
  "",
  "[budgets.weekly]",
  'window = "week"',
  'usd = "0.004"',
  "",
}, "\n"))
local ws = H.tmpdir("ws")
H.write(ws .. "/CLAUDE.md", "# Project\n\nRun the tests before you commit.\n")
vim.fn.mkdir(ws .. "/.git", "p")
vim.cmd.cd(ws)
local seen = H.capture_notify()
require("promptmeter").setup({ server_path = H.bin, proxy_url = proxy.url })

local function alert(pattern, level)
  return function()
    for _, n in ipairs(seen) do
      if n.msg:find(pattern) and (level == nil or n.level == level) then
        return n
      end
    end
  end
end

H.test("the budget shows in the statusline before any spend", function()
  vim.cmd.edit(ws .. "/CLAUDE.md")
  H.wait_for("statusline with the weekly budget", function()
    return sl.text() == "$0.00 today · 0% weekly"
  end)
  H.eq(sl.highlight(), "PromptmeterOk", "colour")
end, { needs = { "spend", "budgets" } })

H.test("crossing 50% raises an alert and the statusline shows the share", function()
  H.send_request(proxy)
  local n = H.wait_for("a budget alert message", alert("LSP%[promptmeter%].*[Ww]eekly"))
  H.eq(n.level, vim.log.levels.WARN, "alert level")
  H.wait_for("statusline with the budget share", function()
    return sl.text():find("^%$0%.00%d+ today · %d+%% weekly$")
  end)
  local pressure = sl.get().budget.pressure
  H.ok(pressure >= 0.5 and pressure < 0.85, "pressure " .. pressure)
  H.eq(sl.highlight(), "PromptmeterOk", "colour below 85%")
end, { needs = { "spend", "budgets" } })

H.test("going over 100% raises an error alert and turns the statusline red", function()
  H.send_request(proxy)
  H.wait_for("an error-level budget alert", alert("LSP%[promptmeter%].*[Ww]eekly", vim.log.levels.ERROR))
  H.wait_for("statusline in the error colour", function()
    return sl.highlight() == "PromptmeterError"
  end)
  H.eq(sl.get().budget.level, "error", "level")
  H.matches(sl.statusline(), "^%%#PromptmeterError#%$0%.00%d+ today · %d+%%%% weekly%%%*$")
  H.write(H.out .. "/nvim/alerts.txt", table.concat(vim.tbl_map(function(x)
    return x.msg
  end, seen), "\n") .. "\n")
end, { needs = { "spend", "budgets" } })

H.run()
