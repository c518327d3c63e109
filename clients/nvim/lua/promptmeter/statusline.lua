-- Spend in the statusline. Updated only by the server's `promptmeter/spend` notification (no
-- polling): `text()` for any statusline, `statusline()` with highlight groups for 'statusline',
-- and `lualine` as a lualine component.
local M = {}

---@type table? The last `promptmeter/spend` payload (docs/protocol.md), nil before the first.
local spend = nil

local levels = { ok = "PromptmeterOk", warning = "PromptmeterWarn", error = "PromptmeterError" }

function M.define_highlights()
  vim.api.nvim_set_hl(0, "PromptmeterOk", { link = "StatusLine", default = true })
  vim.api.nvim_set_hl(0, "PromptmeterWarn", { link = "DiagnosticWarn", default = true })
  vim.api.nvim_set_hl(0, "PromptmeterError", { link = "DiagnosticError", default = true })
  vim.api.nvim_set_hl(0, "PromptmeterOff", { link = "Comment", default = true })
end

---A decimal string as dollars for display (tiny amounts keep two significant digits).
---@param value string|number|nil
---@return string
function M.format_usd(value)
  local n = tonumber(value)
  if n == nil then
    return "?"
  end
  if n ~= 0 and math.abs(n) < 0.1 then
    return "$" .. tostring(tonumber(string.format("%.2g", n)))
  end
  return string.format("$%.2f", n)
end

---Budget share, rounded down (as the server's alert messages do): 100% means used up.
---@param pressure number
---@return string
function M.format_percent(pressure)
  return string.format("%d%%", math.floor(pressure * 100 + 1e-9))
end

---Called by the notification handler (and with nil when the server stops).
---@param value table?
function M.update(value)
  spend = value
  vim.cmd.redrawstatus({ bang = true })
  vim.api.nvim_exec_autocmds("User", { pattern = "PromptmeterSpend", modeline = false, data = value })
end

---@return table?
function M.get()
  return spend
end

---Plain text: "$1.23 today · 86% weekly", "pm: no proxy", or "" before the server says anything.
---@return string
function M.text()
  if spend == nil then
    return ""
  end
  if not spend.connected then
    return "pm: no proxy"
  end
  local text = M.format_usd(spend.todayUsd or "0") .. " today"
  local budget = spend.budget
  if type(budget) == "table" then
    text = text .. " · " .. M.format_percent(budget.pressure or 0) .. " " .. (budget.name or "budget")
  end
  return text
end

---The highlight group for the current state.
---@return string
function M.highlight()
  if spend == nil or not spend.connected then
    return "PromptmeterOff"
  end
  local budget = spend.budget
  return levels[type(budget) == "table" and budget.level or "ok"] or "PromptmeterOk"
end

---For 'statusline': `set statusline=%{%v:lua.require'promptmeter.statusline'.statusline()%}`.
---@return string
function M.statusline()
  local text = M.text()
  if text == "" then
    return ""
  end
  return "%#" .. M.highlight() .. "#" .. text:gsub("%%", "%%%%") .. "%*"
end

---A lualine component: `sections = { lualine_x = { require("promptmeter.statusline").lualine } }`.
M.lualine = {
  function()
    return M.text()
  end,
  cond = function()
    return M.text() ~= ""
  end,
  color = function()
    return M.highlight()
  end,
}

---Lines describing the last response, for :Promptmeter info.
---@return string[]
function M.details()
  if spend == nil then
    return { "promptmeter: no spend received from the language server yet" }
  end
  if not spend.connected then
    return { ("promptmeter: no proxy at %s"):format(spend.proxyUrl or "?") }
  end
  local lines = {
    ("today %s, this week %s"):format(M.format_usd(spend.todayUsd or "0"), M.format_usd(spend.weekUsd or "0")),
  }
  if type(spend.budget) == "table" then
    local b = spend.budget
    table.insert(lines, ("%s budget: %s of %s (%s, %s)"):format(
      b.name, M.format_usd(b.spentUsd), M.format_usd(b.limitUsd), M.format_percent(b.pressure or 0), b.level))
  end
  if type(spend.session) == "table" then
    local session = spend.session
    local n = session.requests or 0
    table.insert(lines, ("session %s: %s in %d request%s"):format(session.id, M.format_usd(session.usd), n, n == 1 and "" or "s"))
  end
  local last = spend.last
  if type(last) == "table" then
    local rerouted = type(last.reroutedFrom) == "string" and (" (rerouted from " .. last.reroutedFrom .. ")") or ""
    local flat = last.flatRate == true and " (flat rate)" or ""
    table.insert(lines, ("last: %s %s%s: %d in, %d cached, %d out, %s%s, %d ms"):format(
      last.provider, last.model, rerouted, last.inputTokens or 0, last.cachedTokens or 0,
      last.outputTokens or 0, M.format_usd(last.costUsd), flat, math.floor((last.latencyMs or 0) + 0.5)))
  end
  if type(spend.byProvider) == "table" then
    for provider, usd in vim.spairs(spend.byProvider) do
      table.insert(lines, ("  %s: %s today"):format(provider, M.format_usd(usd)))
    end
  end
  if type(spend.alert) == "table" and spend.alert.message then
    table.insert(lines, "alert: " .. spend.alert.message)
  end
  return lines
end

return M
