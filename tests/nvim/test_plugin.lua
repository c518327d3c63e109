-- The plugin without a running server feature: loading, setup(), detection, statusline,
-- composition rendering, :checkhealth. Runs in real headless Neovim.
local H = require("helpers")

H.test("plugin/ only defines the user command and requires nothing", function()
  H.eq(vim.fn.exists(":Promptmeter"), 2, ":Promptmeter exists")
  H.eq(package.loaded["promptmeter"], nil, "promptmeter loaded before first use")
end)

H.test("setup() twice replaces the config and keeps one set of autocommands", function()
  local pm = require("promptmeter")
  pm.setup({ server_path = H.bin, model = "claude-haiku-4-5" })
  local first = #vim.api.nvim_get_autocmds({ group = "promptmeter" })
  H.ok(first > 0, "setup created autocommands")
  pm.setup({ server_path = H.bin, proxy_url = "http://127.0.0.1:9" })
  H.eq(#vim.api.nvim_get_autocmds({ group = "promptmeter" }), first, "autocommands after a second setup")
  H.eq(#vim.api.nvim_get_autocmds({ group = "nvim.lsp.enable" }), 1, "vim.lsp.enable autocommands")
  local config = vim.lsp.config["promptmeter"]
  H.eq(config.cmd, { H.bin, "lsp" }, "server command")
  -- the second setup replaced the first: no model left over, the proxy URL is new
  H.eq(config.init_options, { lsp = { feed_url = "http://127.0.0.1:9/_promptmeter/feed" } }, "init_options")
  H.ok(vim.lsp.is_enabled("promptmeter"), "enabled")
  H.eq(pm.errors, {}, "no option errors")
  pm.setup({ server_path = H.bin })
  H.eq(vim.json.encode(vim.lsp.config["promptmeter"].init_options), "{}", "no settings go out as an object")
end)

H.test("unknown and mistyped options are reported, the rest still applies", function()
  local pm = require("promptmeter")
  pm.setup({ server_path = H.bin, modle = "x", inlay_hints = "yes" })
  H.eq(pm.errors, { 'option "inlay_hints" should be a boolean, got string', 'unknown option "modle"' }, "errors")
  H.eq(pm.config.inlay_hints, true, "mistyped option keeps its default")
  pm.setup({ server_path = H.bin })
  H.eq(pm.errors, {}, "errors cleared by the next setup")
end)

H.test("prompt files are detected, other files are not", function()
  local pm = require("promptmeter")
  local yes = {
    "/w/CLAUDE.md",
    "/w/sub/dir/AGENTS.md",
    "/w/.cursor/rules/style.mdc",
    "/w/.cursor/rules/deep/x.mdc",
    "/w/.claude/agents/reviewer.md",
    "/w/.claude/skills/pdf/SKILL.md",
    "/w/.github/copilot-instructions.md",
    "/w/docs/fix.prompt.md",
    "/w/.mcp.json",
    "/w/.codex/config.toml",
  }
  local no = { "/w/README.md", "/w/src/main.rs", "/w/.cursor/rules/style.md", "/w/claude.md.bak", "/w/settings.json" }
  for _, p in ipairs(yes) do
    H.ok(pm.is_prompt_file(p), p .. " should be a prompt file")
  end
  for _, p in ipairs(no) do
    H.ok(not pm.is_prompt_file(p), p .. " should not be a prompt file")
  end
  pm.setup({ server_path = H.bin, extra_documents = { "notes/*.md" } })
  H.ok(pm.is_prompt_file("/w/notes/a.md"), "extra_documents")
  pm.setup({ server_path = H.bin, documents = { "PROMPT.md" } })
  H.ok(pm.is_prompt_file("/w/PROMPT.md") and not pm.is_prompt_file("/w/CLAUDE.md"), "documents replaces")
  pm.setup({ server_path = H.bin })
  H.eq(vim.filetype.match({ filename = "/w/.cursor/rules/a.mdc" }), "markdown", ".mdc filetype")
end)

H.test("statusline text and colour follow the spend notification", function()
  local sl = require("promptmeter.statusline")
  local events = 0
  vim.api.nvim_create_autocmd("User", {
    pattern = "PromptmeterSpend",
    callback = function()
      events = events + 1
    end,
  })
  sl.update(nil)
  H.eq(sl.text(), "", "before any notification")
  H.eq(sl.statusline(), "", "statusline before any notification")
  sl.update({ connected = false, proxyUrl = "http://127.0.0.1:4747" })
  H.eq(sl.text(), "pm: no proxy", "no proxy")
  H.eq(sl.highlight(), "PromptmeterOff", "no proxy colour")
  local spend = {
    connected = true,
    todayUsd = "1.234",
    weekUsd = "4.56",
    budget = { name = "weekly", limitUsd = "50", spentUsd = "43", pressure = 0.86, level = "warning" },
    last = {
      provider = "anthropic",
      model = "claude-sonnet-4-5",
      inputTokens = 10,
      cachedTokens = 2000,
      outputTokens = 300,
      costUsd = "0.0123",
      latencyMs = 812.4,
    },
    byProvider = { anthropic = "1.0" },
  }
  sl.update(spend)
  H.eq(sl.text(), "$1.23 today · 86% weekly", "connected text")
  H.eq(sl.highlight(), "PromptmeterWarn", "warning colour")
  H.eq(sl.statusline(), "%#PromptmeterWarn#$1.23 today · 86%% weekly%*", "statusline escapes %")
  H.eq(sl.format_percent(0.945), "94%", "budget share rounds down")
  H.eq(sl.format_percent(1), "100%", "used up")
  spend.budget.level = "error"
  sl.update(spend)
  H.eq(sl.highlight(), "PromptmeterError", "error colour")
  spend.budget = nil
  sl.update(spend)
  H.eq(sl.text(), "$1.23 today", "without a budget")
  H.eq(sl.highlight(), "PromptmeterOk", "ok colour")
  H.eq(sl.lualine[1](), "$1.23 today", "lualine component text")
  H.eq(sl.lualine.color(), "PromptmeterOk", "lualine component colour")
  H.eq(events, 5, "User PromptmeterSpend per update")
  H.matches(table.concat(sl.details(), "\n"),
    "last: anthropic claude%-sonnet%-4%-5: 10 in, 2000 cached, 300 out, %$0%.012, 812 ms")
  spend.last.costUsd, spend.last.flatRate = "0", true
  sl.update(spend)
  H.matches(table.concat(sl.details(), "\n"), "300 out, %$0%.00 %(flat rate%), 812 ms", "a flat-rate response")
  -- a real 'statusline' evaluates it
  vim.o.statusline = "%{%v:lua.require'promptmeter.statusline'.statusline()%}"
  local eval = vim.api.nvim_eval_statusline(vim.o.statusline, { use_tabline = false })
  H.eq(eval.str, "$1.23 today", "evaluated statusline")
  sl.update(nil)
end)

H.test("composition bars are proportional to tokens, grouped by category", function()
  local comp = require("promptmeter.composition")
  local lines = comp.render({
    model = "claude-sonnet-4-5",
    contextWindow = 200000,
    exact = false,
    totalTokens = 8000,
    freeTokens = 192000,
    children = {
      { name = "CLAUDE.md", category = "memory", tokens = 4000 },
      { name = "github", category = "tools", tokens = 2000 },
      { name = "AGENTS.md", category = "memory", tokens = 2000 },
      { name = "free", category = "free", tokens = 192000 },
    },
  }, 40)
  H.matches(lines[1], "^claude%-sonnet%-4%-5  ≈8%.0k of 200k tokens %(4%.0%%%), 192k free$")
  local function bar_cells(line)
    local _, n = line:gsub("█", "")
    return n
  end
  H.matches(lines[4], "^memory")
  H.eq(bar_cells(lines[4]), 30, "memory is 75% of 40 cells")
  H.matches(lines[5], "^  CLAUDE%.md")
  H.eq(bar_cells(lines[5]), 20, "CLAUDE.md is 50%")
  H.matches(lines[7], "^tools")
  H.eq(bar_cells(lines[7]), 10, "tools is 25%")
  H.eq(#lines, 8, "free is not a row")
  H.eq(comp.bar(1 / 16, 4), "▎", "partial cells in eighths")
end)

H.test(":checkhealth promptmeter reports the binary, its version, the proxy and option errors", function()
  local pm = require("promptmeter")
  local port = H.free_port()
  pm.setup({ server_path = H.bin, proxy_url = ("http://127.0.0.1:%d"):format(port), bogus = 1 })
  vim.cmd("checkhealth promptmeter")
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  vim.cmd("bwipeout!")
  local version = vim.trim(vim.system({ H.bin, "--version" }, { text = true }):wait().stdout)
  H.ok(text:find("server: " .. version .. " (" .. H.bin .. ")", 1, true), "binary and version in:\n" .. text)
  H.ok(text:find('options: unknown option "bogus"', 1, true), "option error in:\n" .. text)
  H.ok(text:find(("proxy not reachable at http://127.0.0.1:%d"):format(port), 1, true), "proxy state in:\n" .. text)
  H.ok(text:find("config files: no errors", 1, true), "config state in:\n" .. text)

  local config_file = vim.env.XDG_CONFIG_HOME .. "/promptmeter/config.toml"
  H.write(config_file, "bogus = 1\n")
  vim.cmd("checkhealth promptmeter")
  text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  vim.cmd("bwipeout!")
  os.remove(config_file)
  H.ok(text:find("ERROR config files: config: unknown field `bogus`", 1, true), "config error in:\n" .. text)

  pm.setup({ server_path = "/nonexistent/promptmeter" })
  vim.cmd("checkhealth promptmeter")
  text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  vim.cmd("bwipeout!")
  H.ok(text:find("server binary not found: /nonexistent/promptmeter", 1, true), "missing binary in:\n" .. text)
  pm.setup({ server_path = H.bin })
end)

H.test("the plugin attaches to exactly the files the server measures by default", function()
  local pm = require("promptmeter")
  local cwd = vim.fn.tempname()
  vim.fn.mkdir(cwd, "p")
  local env = { XDG_CONFIG_HOME = cwd .. "/no-config", HOME = cwd }
  local out = vim.system({ H.bin, "lsp", "--documents" }, { cwd = cwd, env = env, text = true }):wait()
  H.eq(out.code, 0, "promptmeter lsp --documents: " .. (out.stderr or ""))
  H.eq(pm.default_documents, vim.split(vim.trim(out.stdout), "\n"), "default globs (plugin vs server)")
end)

H.test(":Promptmeter with an unknown subcommand says so", function()
  local seen = H.capture_notify()
  vim.cmd("Promptmeter frobnicate")
  H.matches(seen[#seen].msg, 'unknown subcommand "frobnicate"')
end)

H.run()
