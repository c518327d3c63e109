-- promptmeter.nvim: token counts and cost of prompt files as inlay hints (from `promptmeter lsp`),
-- live agent spend in the statusline, the context-window composition in a float.
local M = {}

---Prompt files and agent configs the client attaches to: the server's own defaults, as
---`promptmeter lsp --documents` prints them (a test keeps the two equal). Globs without a `/`
---match the file name at any depth; the others match the end of the path.
M.default_documents = {
  "CLAUDE.md",
  "CLAUDE.local.md",
  ".claude/rules/**/*.md",
  ".claude/agents/**/*.md",
  ".claude/commands/**/*.md",
  ".claude/skills/*/SKILL.md",
  "AGENTS.md",
  "AGENTS.override.md",
  "GEMINI.md",
  ".cursorrules",
  ".cursor/rules/**/*.mdc",
  ".github/copilot-instructions.md",
  ".github/instructions/**/*.instructions.md",
  "*.prompt.md",
  "*.agent.md",
  ".windsurf/rules/*.md",
  ".continue/rules/*.md",
  ".continue/rules/*.yaml",
  "*.prompty",
  "prompts/**",
  ".mcp.json",
  ".claude/settings.json",
  ".claude/settings.local.json",
  ".continue/config.yaml",
  ".continue/config.json",
  "promptfooconfig.yaml",
  "promptfooconfig.yml",
  "promptfooconfig.json",
  ".codex/config.toml",
}

---@class promptmeter.Options
---@field server_path? string The `promptmeter` binary (default: $PROMPTMETER_SERVER_PATH, then PATH).
---@field cmd? string[] Full server command; overrides server_path.
---@field proxy_url? string Proxy whose feed drives the statusline (default: from the config files).
---@field model? string Active model (default: from the config files).
---@field models? string[] Models offered by `:Promptmeter model`.
---@field documents? string[] Globs of the files to attach to (replaces the defaults).
---@field extra_documents? string[] Globs added to `documents`.
---@field inlay_hints? boolean Turn inlay hints on in attached buffers.
---@field settings? table Config overlay sent to the server (TOML config shape, e.g. { lsp = { lint = {...} } }).
M.defaults = {
  server_path = nil,
  cmd = nil,
  proxy_url = nil,
  model = nil,
  models = {
    "claude-sonnet-4-5",
    "claude-opus-4-8",
    "claude-haiku-4-5",
    "gpt-5",
    "gpt-5-mini",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
  },
  documents = nil,
  extra_documents = {},
  inlay_hints = true,
  settings = {},
}

local option_types = {
  server_path = "string",
  cmd = "table",
  proxy_url = "string",
  model = "string",
  models = "table",
  documents = "table",
  extra_documents = "table",
  inlay_hints = "boolean",
  settings = "table",
}

M.config = vim.deepcopy(M.defaults)
---Problems found in the options given to setup(); `:checkhealth promptmeter` reports them.
M.errors = {}
M.did_setup = false

---@param opts table
---@return string[]
local function validate(opts)
  local errors = {}
  for key, value in pairs(opts) do
    local want = option_types[key]
    if not want then
      table.insert(errors, ("unknown option %q"):format(tostring(key)))
    elseif type(value) ~= want then
      table.insert(errors, ("option %q should be a %s, got %s"):format(key, want, type(value)))
    end
  end
  table.sort(errors)
  return errors
end

---The binary the server command runs.
---@return string
function M.server_path()
  local p = M.config.server_path or vim.env.PROMPTMETER_SERVER_PATH
  if p and p ~= "" then
    return vim.fn.expand(p)
  end
  local found = vim.fn.exepath("promptmeter")
  return found ~= "" and found or "promptmeter"
end

---@return string[]
function M.server_cmd()
  return M.config.cmd or { M.server_path(), "lsp" }
end

---The proxy URL used by the statusline's messages and :checkhealth.
---@return string
function M.proxy_url()
  return (M.config.proxy_url or "http://127.0.0.1:4747"):gsub("/+$", "")
end

local matchers ---@type { name_only: boolean, lpeg: vim.lpeg.Pattern }[]?

local function compile_matchers()
  local globs = vim.list_extend(vim.deepcopy(M.config.documents or M.default_documents), M.config.extra_documents)
  matchers = {}
  for _, glob in ipairs(globs) do
    local name_only = not glob:find("/", 1, true)
    local ok, pat = pcall(vim.glob.to_lpeg, name_only and glob or ("**/" .. glob))
    if ok then
      table.insert(matchers, { name_only = name_only, lpeg = pat })
    else
      table.insert(M.errors, ("invalid document glob %q"):format(glob))
    end
  end
end

---Whether a path is a prompt file or agent config the server measures.
---@param path string
---@return boolean
function M.is_prompt_file(path)
  if path == "" then
    return false
  end
  if not matchers then
    compile_matchers()
  end
  path = vim.fs.normalize(vim.fn.fnamemodify(path, ":p"))
  local name = vim.fs.basename(path)
  for _, m in ipairs(matchers or {}) do
    if m.lpeg:match(m.name_only and name or path) then
      return true
    end
  end
  return false
end

---The config overlay sent as initializationOptions (later layers of the server's config).
---@return table
function M.server_settings()
  local overlay = vim.deepcopy(M.config.settings)
  if M.config.proxy_url then
    overlay.lsp = vim.tbl_extend("force", overlay.lsp or {}, { feed_url = M.proxy_url() .. "/_promptmeter/feed" })
  end
  if M.config.model then
    overlay.models = vim.tbl_extend("force", overlay.models or {}, { active = M.config.model })
  end
  -- An empty table would go out as a JSON array; the server expects an object.
  return next(overlay) == nil and vim.empty_dict() or overlay
end

---The running promptmeter clients.
---@return vim.lsp.Client[]
function M.clients()
  return vim.lsp.get_clients({ name = "promptmeter" })
end

---@param opts? promptmeter.Options
function M.setup(opts)
  if vim.fn.has("nvim-0.11") ~= 1 then
    vim.notify("promptmeter.nvim needs Neovim 0.11 or newer", vim.log.levels.ERROR)
    return
  end
  opts = opts or {}
  M.errors = validate(opts)
  local valid = {}
  for key, value in pairs(opts) do
    if option_types[key] == type(value) then
      valid[key] = value
    end
  end
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), valid)
  matchers = nil
  compile_matchers()
  M.did_setup = true

  vim.filetype.add({
    extension = { mdc = "markdown", prompty = "markdown" },
    filename = { [".cursorrules"] = "markdown" },
  })
  require("promptmeter.statusline").define_highlights()

  local group = vim.api.nvim_create_augroup("promptmeter", { clear = true })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == "promptmeter" and M.config.inlay_hints then
        vim.lsp.inlay_hint.enable(true, { bufnr = args.buf })
      end
    end,
  })
  vim.api.nvim_create_autocmd("ColorScheme", {
    group = group,
    callback = function()
      require("promptmeter.statusline").define_highlights()
    end,
  })

  -- Assigning (rather than calling vim.lsp.config) replaces the previous setup's config.
  vim.lsp.config["promptmeter"] = {
    cmd = M.server_cmd(),
    root_dir = function(bufnr, on_dir)
      local name = vim.api.nvim_buf_get_name(bufnr)
      if M.is_prompt_file(name) then
        on_dir(vim.fs.root(bufnr, { ".promptmeter.toml", ".git" }) or vim.fs.dirname(name))
      end
    end,
    init_options = M.server_settings(),
    handlers = {
      ["promptmeter/spend"] = function(_, result)
        require("promptmeter.statusline").update(result)
      end,
    },
    on_exit = function()
      vim.schedule(function()
        if #M.clients() == 0 then
          require("promptmeter.statusline").update(nil)
        end
      end)
    end,
  }
  vim.lsp.enable("promptmeter")
end

return M
