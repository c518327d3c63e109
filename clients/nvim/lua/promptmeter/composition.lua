-- `:Promptmeter composition`: the context window of the agent setup as proportional bars in a
-- floating window. `render()` is pure (lines and highlights) so it is tested on its own.
local M = {}

local category_hl = {
  memory = "DiagnosticInfo",
  rules = "Special",
  agents = "String",
  commands = "Number",
  skills = "Type",
  tools = "DiagnosticError",
  system = "Comment",
}

local function tokens(n)
  if n >= 1000000 then
    return string.format("%.1fM", n / 1000000)
  elseif n >= 10000 then
    return string.format("%dk", math.floor(n / 1000 + 0.5))
  elseif n >= 1000 then
    return string.format("%.1fk", n / 1000)
  end
  return tostring(n)
end
M.format_tokens = tokens

---A bar of `width` cells for `share` in [0, 1], in eighths of a cell.
---@param share number
---@param width integer
---@return string
function M.bar(share, width)
  local eighths = math.floor(math.max(0, math.min(1, share)) * width * 8 + 0.5)
  local full = math.floor(eighths / 8)
  local partial = ({ "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" })[eighths % 8 + 1]
  return string.rep("█", full) .. partial
end

---Groups top-level entries by category, largest category first; `free` is left out.
---@param composition table
---@return { category: string, tokens: integer, items: table[] }[]
function M.groups(composition)
  local by = {}
  local order = {}
  for _, node in ipairs(composition.children or {}) do
    if node.category ~= "free" and (node.tokens or 0) > 0 then
      if not by[node.category] then
        by[node.category] = { category = node.category, tokens = 0, items = {} }
        table.insert(order, by[node.category])
      end
      local g = by[node.category]
      g.tokens = g.tokens + node.tokens
      table.insert(g.items, node)
    end
  end
  table.sort(order, function(a, b)
    if a.tokens ~= b.tokens then
      return a.tokens > b.tokens
    end
    return a.category < b.category
  end)
  for _, g in ipairs(order) do
    table.sort(g.items, function(a, b)
      return a.tokens > b.tokens
    end)
  end
  return order
end

---@param composition table The `promptmeter/composition` result (docs/protocol.md).
---@param width integer Width of the bars.
---@return string[] lines
---@return { line: integer, col: integer, end_col: integer, group: string }[] highlights (0-based)
function M.render(composition, width)
  local lines, hls = {}, {}
  local total = composition.totalTokens or 0
  local window = composition.contextWindow or 0
  local approx = composition.exact == false and "≈" or ""
  local used = window > 0 and total / window or 0
  table.insert(lines, ("%s  %s%s of %s tokens (%.1f%%), %s free"):format(
    composition.model or "?", approx, tokens(total), tokens(window), used * 100, tokens(composition.freeTokens or 0)))
  local used_bar = M.bar(used, width)
  table.insert(lines, "[" .. used_bar .. string.rep(" ", width - vim.fn.strchars(used_bar)) .. "] context window")
  table.insert(lines, "")
  local groups = M.groups(composition)
  if #groups == 0 then
    table.insert(lines, "No prompt files or agent configs found.")
  end
  for _, g in ipairs(groups) do
    local share = total > 0 and g.tokens / total or 0
    local head = ("%-9s %7s %5.1f%% "):format(g.category, tokens(g.tokens), share * 100)
    local bar = M.bar(share, width)
    table.insert(lines, head .. bar)
    table.insert(hls, { line = #lines - 1, col = #head, end_col = #head + #bar, group = category_hl[g.category] or "Normal" })
    table.insert(hls, { line = #lines - 1, col = 0, end_col = #g.category, group = "Title" })
    for _, item in ipairs(g.items) do
      local ishare = total > 0 and item.tokens / total or 0
      local name = item.name
      if vim.fn.strchars(name) > 24 then
        name = "…" .. vim.fn.strcharpart(name, vim.fn.strchars(name) - 23)
      end
      local ihead = ("  %-24s %7s "):format(name, tokens(item.tokens))
      local ibar = M.bar(ishare, width)
      table.insert(lines, ihead .. ibar)
      local group = category_hl[g.category] or "Normal"
      table.insert(hls, { line = #lines - 1, col = #ihead, end_col = #ihead + #ibar, group = group })
    end
  end
  return lines, hls
end

local ns = vim.api.nvim_create_namespace("promptmeter.composition")

---Shows a composition in a floating window; `q` or <Esc> closes it.
---@param composition table
---@return integer win, integer buf
function M.show(composition)
  local width = math.max(20, math.min(40, vim.o.columns - 50))
  local lines, hls = M.render(composition, width)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  for _, h in ipairs(hls) do
    vim.api.nvim_buf_set_extmark(buf, ns, h.line, h.col, { end_col = h.end_col, hl_group = h.group })
  end
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = "promptmeter-composition"
  local w = 0
  for _, l in ipairs(lines) do
    w = math.max(w, vim.fn.strdisplaywidth(l))
  end
  w = math.min(w + 2, vim.o.columns - 4)
  local h = math.min(#lines, vim.o.lines - 6)
  local win = vim.api.nvim_open_win(buf, true, {
    relative = "editor",
    width = w,
    height = h,
    row = math.floor((vim.o.lines - h) / 2) - 1,
    col = math.floor((vim.o.columns - w) / 2),
    style = "minimal",
    border = "rounded",
    title = " context window ",
    title_pos = "center",
  })
  for _, key in ipairs({ "q", "<Esc>" }) do
    vim.keymap.set("n", key, "<cmd>close<cr>", { buffer = buf, nowait = true })
  end
  return win, buf
end

return M
