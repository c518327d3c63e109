-- The `:Promptmeter` subcommands.
local M = {}

local function pm()
  return require("promptmeter")
end

local function err(msg)
  vim.notify("promptmeter: " .. msg, vim.log.levels.ERROR)
end

---A client for workspace-wide requests: the one attached to the current buffer, any running
---one, or a new one rooted at the current directory (not attached to any buffer).
---@return vim.lsp.Client?
function M.client()
  local attached = vim.lsp.get_clients({ name = "promptmeter", bufnr = 0 })
  if attached[1] then
    return attached[1]
  end
  local any = pm().clients()
  if any[1] then
    return any[1]
  end
  if not pm().did_setup then
    err("call require('promptmeter').setup() first")
    return nil
  end
  local config = vim.deepcopy(vim.lsp.config["promptmeter"])
  config.root_dir = vim.fs.root(0, { ".promptmeter.toml", ".git" }) or vim.fn.getcwd()
  local id = vim.lsp.start(config, { attach = false })
  return id and vim.lsp.get_client_by_id(id) or nil
end

---@param model string?
function M.composition(model)
  local client = M.client()
  if not client then
    return
  end
  client:request("promptmeter/composition", { model = model or vim.NIL }, function(e, result)
    if e then
      err("composition: " .. (e.message or vim.inspect(e)))
    elseif type(result) ~= "table" then
      err("composition: empty answer from the server")
    else
      require("promptmeter.composition").show(result)
    end
  end)
end

---Sets the active model on every running server and keeps it for restarts.
---@param model string
function M.set_model(model)
  local promptmeter = pm()
  promptmeter.config.model = model
  local config = vim.lsp.config["promptmeter"]
  if config then
    vim.lsp.config("promptmeter", { init_options = promptmeter.server_settings() })
  end
  local clients = promptmeter.clients()
  if #clients == 0 then
    vim.notify("promptmeter: active model " .. model .. " (applies when the server starts)")
    return
  end
  for _, client in ipairs(clients) do
    client:request("workspace/executeCommand", { command = "promptmeter.setModel", arguments = { model } }, function(e)
      if e then
        err("setModel: " .. (e.message or vim.inspect(e)))
        return
      end
      vim.notify("promptmeter: active model " .. model)
      -- Ask again for the hints of every buffer this client shows.
      for buf in pairs(client.attached_buffers) do
        if vim.lsp.inlay_hint.is_enabled({ bufnr = buf }) then
          vim.lsp.inlay_hint.enable(false, { bufnr = buf })
          vim.lsp.inlay_hint.enable(true, { bufnr = buf })
        end
      end
    end)
  end
end

---@param model string?
function M.model(model)
  if model and model ~= "" then
    M.set_model(model)
    return
  end
  local config = pm().config
  local choices = vim.deepcopy(config.models)
  if config.model and not vim.tbl_contains(choices, config.model) then
    table.insert(choices, 1, config.model)
  end
  vim.ui.select(choices, {
    prompt = "promptmeter: active model",
    format_item = function(item)
      return item == config.model and (item .. " (active)") or item
    end,
  }, function(choice)
    if choice then
      M.set_model(choice)
    end
  end)
end

function M.restart()
  local clients = pm().clients()
  for _, client in ipairs(clients) do
    client:stop()
  end
  vim.wait(5000, function()
    return #pm().clients() == 0
  end, 20)
  require("promptmeter.statusline").update(nil)
  vim.cmd.doautoall({ "nvim.lsp.enable", "FileType", mods = { silent = true } })
end

function M.info()
  local lines = require("promptmeter.statusline").details()
  table.insert(lines, "server: " .. table.concat(pm().server_cmd(), " "))
  for _, client in ipairs(pm().clients()) do
    local buffers = vim.tbl_count(client.attached_buffers)
    table.insert(lines, ("client %d: root %s, %d buffers"):format(client.id, client.root_dir or "-", buffers))
  end
  vim.notify(table.concat(lines, "\n"))
end

---@param fargs string[]
function M.run(fargs)
  local sub, arg = fargs[1], fargs[2]
  if sub == "composition" then
    M.composition(arg)
  elseif sub == "model" then
    M.model(arg)
  elseif sub == "restart" then
    M.restart()
  elseif sub == "info" or sub == nil then
    M.info()
  else
    err(("unknown subcommand %q (composition, model, restart, info)"):format(sub))
  end
end

return M
