-- The plugin with the real `promptmeter lsp`: attach to prompt files, inlay hints, hover,
-- :Promptmeter composition / model / restart, the honest "no proxy" statusline.
local H = require("helpers")
local sl = require("promptmeter.statusline")

local ws = H.tmpdir("ws")
local closed_port = H.free_port()
H.write(ws .. "/CLAUDE.md", H.read(H.root .. "/tests/data/corpus/claude_md/astral-sh__ruff/CLAUDE.md"))
H.write(ws .. "/CLAUDE.local.md", "# Local notes\n\nAlways run the tests before committing.\n")
H.write(ws .. "/README.md", "# Not a prompt file\n")
H.write(ws .. "/.cursor/rules/style.mdc", "---\ndescription: style\nalwaysApply: true\n---\n\nUse two spaces.\n")
H.write(ws .. "/.claude/rules/testing.md", "# Testing\n\nEvery change comes with a test that fails without it.\n")
-- No proxy listens there: the statusline must say so.
H.write(ws .. "/.promptmeter.toml", ("[lsp]\nfeed_url = \"http://127.0.0.1:%d/_promptmeter/feed\"\n"):format(closed_port))
vim.fn.mkdir(ws .. "/.git", "p")
vim.cmd.cd(ws)

require("promptmeter").setup({ server_path = H.bin })

local function label(hint)
  local l = hint.inlay_hint.label
  if type(l) == "table" then
    local parts = {}
    for _, p in ipairs(l) do
      table.insert(parts, p.value)
    end
    return table.concat(parts)
  end
  return l
end

local function hints(bufnr)
  local h = vim.lsp.inlay_hint.get({ bufnr = bufnr })
  return #h > 0 and h or nil
end

H.test("opening CLAUDE.md starts the server and shows its inlay hints", function()
  vim.cmd.edit(ws .. "/CLAUDE.md")
  local buf = vim.api.nvim_get_current_buf()
  H.wait_for("promptmeter attached to CLAUDE.md", function()
    return vim.lsp.get_clients({ name = "promptmeter", bufnr = buf })[1]
  end)
  H.ok(vim.lsp.inlay_hint.is_enabled({ bufnr = buf }), "inlay hints enabled for the buffer")
  local got = H.wait_for("inlay hints in CLAUDE.md", function()
    return hints(buf)
  end)
  local labels = vim.tbl_map(label, got)
  for _, l in ipairs(labels) do
    H.matches(l, "%d", "every hint carries a count")
  end
  H.write(H.out .. "/nvim/inlay_hints.txt", table.concat(labels, "\n") .. "\n")
end)

H.test("a .mdc rule attaches too, README.md does not", function()
  vim.cmd.edit(ws .. "/README.md")
  local readme = vim.api.nvim_get_current_buf()
  vim.cmd.edit(ws .. "/.cursor/rules/style.mdc")
  local rule = vim.api.nvim_get_current_buf()
  H.eq(vim.bo[rule].filetype, "markdown", ".mdc filetype")
  H.wait_for("promptmeter attached to style.mdc", function()
    return vim.lsp.get_clients({ name = "promptmeter", bufnr = rule })[1]
  end)
  H.eq(#vim.lsp.get_clients({ name = "promptmeter", bufnr = readme }), 0, "clients on README.md")
  H.eq(#require("promptmeter").clients(), 1, "one server for the workspace")
end)

H.test("hover on a heading answers from the server", function()
  vim.cmd.edit(ws .. "/CLAUDE.md")
  local params = { textDocument = { uri = vim.uri_from_bufnr(0) }, position = { line = 0, character = 3 } }
  local res = vim.lsp.buf_request_sync(0, "textDocument/hover", params, H.WAIT_MS)
  local result = res and select(2, next(res)).result
  H.ok(result and result.contents, "hover result: " .. vim.inspect(res))
  local value = type(result.contents) == "table" and (result.contents.value or result.contents[1]) or result.contents
  H.matches(vim.inspect(value), "%d", "hover has numbers")
end)

H.test("no proxy running: the statusline says so", function()
  H.wait_for("statusline 'pm: no proxy'", function()
    return sl.text() == "pm: no proxy"
  end)
  H.eq(sl.highlight(), "PromptmeterOff", "no proxy colour")
end, { needs = { "spend" } })

local function composition_float()
  return H.wait_for("composition float", function()
    for _, lines in ipairs(H.floats()) do
      if lines[2] and lines[2]:find("context window", 1, true) then
        return lines
      end
    end
  end)
end

H.test(":Promptmeter composition shows the context window as bars", function()
  vim.cmd("Promptmeter composition")
  local lines = composition_float()
  H.write(H.out .. "/nvim/composition.txt", table.concat(lines, "\n") .. "\n")
  local text = table.concat(lines, "\n")
  H.matches(lines[1], "^claude%-sonnet%-4%-5 ", "default model")
  H.matches(text, "\nmemory ", "memory category")
  H.matches(text, "CLAUDE%.md", "CLAUDE.md entry")
  H.matches(text, "\nrules ", "rules category")
  vim.cmd("close")
end)

H.test(":Promptmeter model sets the active model on the server", function()
  local seen = H.capture_notify()
  vim.cmd("Promptmeter model claude-haiku-4-5")
  H.wait_for("model set", function()
    for _, n in ipairs(seen) do
      if n.msg == "promptmeter: active model claude-haiku-4-5" then
        return true
      end
      H.ok(not n.msg:find("setModel:"), n.msg)
    end
  end)
  vim.cmd("Promptmeter composition")
  H.matches(composition_float()[1], "^claude%-haiku%-4%-5 ", "composition follows the active model")
  vim.cmd("close")
end)

H.test(":Promptmeter restart starts a new server and the hints come back", function()
  vim.cmd.edit(ws .. "/CLAUDE.md")
  local buf = vim.api.nvim_get_current_buf()
  -- :edit of the current file reloads it: the client detaches and attaches again
  local old = H.wait_for("a client before restart", function()
    return vim.lsp.get_clients({ name = "promptmeter", bufnr = buf })[1]
  end)
  vim.cmd("Promptmeter restart")
  local new = H.wait_for("a new client", function()
    local c = vim.lsp.get_clients({ name = "promptmeter", bufnr = buf })[1]
    return c and c.id ~= old.id and c
  end)
  H.ok(old:is_stopped(), "old client stopped")
  H.wait_for("inlay hints after restart", function()
    return hints(buf)
  end)
  H.eq(new.config.init_options.models, { active = "claude-haiku-4-5" }, "the chosen model survives the restart")
end)

H.run()
