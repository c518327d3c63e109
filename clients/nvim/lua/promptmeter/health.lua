-- :checkhealth promptmeter
local M = {}

function M.check()
  local pm = require("promptmeter")
  vim.health.start("promptmeter")

  if vim.fn.has("nvim-0.11") == 1 then
    vim.health.ok("Neovim " .. tostring(vim.version()))
  else
    vim.health.error("Neovim 0.11 or newer is needed")
  end

  if not pm.did_setup then
    vim.health.warn("setup() has not been called", { "Add require('promptmeter').setup({}) to your config" })
  end
  if #pm.errors == 0 then
    vim.health.ok("options: no errors")
  else
    for _, e in ipairs(pm.errors) do
      vim.health.error("options: " .. e)
    end
  end

  -- The binary and its version.
  local cmd = pm.server_cmd()
  local bin = cmd[1]
  if vim.fn.executable(bin) ~= 1 then
    vim.health.error(("server binary not found: %s"):format(bin), {
      "Install promptmeter (`cargo install --path server` in its repository) and put it on PATH",
      "or set server_path in setup() or $PROMPTMETER_SERVER_PATH",
    })
  else
    local path = vim.fn.exepath(bin)
    local ok, res = pcall(function()
      return vim.system({ bin, "--version" }, { text = true }):wait(10000)
    end)
    if ok and res.code == 0 then
      vim.health.ok(("server: %s (%s)"):format(vim.trim(res.stdout), path))
      -- The config files (user, then .promptmeter.toml upwards from here), as the binary reads them.
      local cfg = vim.system({ bin, "models" }, { text = true, cwd = vim.fn.getcwd() }):wait(10000)
      if cfg.code == 0 then
        vim.health.ok("config files: no errors")
      else
        vim.health.error("config files: " .. vim.trim((cfg.stderr or ""):gsub("^promptmeter: ", "")))
      end
    else
      vim.health.error(("server %s does not run: %s"):format(path, ok and vim.trim(res.stderr or "") or tostring(res)))
    end
  end

  -- The proxy's health endpoint.
  local url = pm.proxy_url() .. "/_promptmeter/health"
  local status, body = require("promptmeter.http").get(url, 2000)
  if status == 200 then
    local decoded_ok, decoded = pcall(vim.json.decode, body)
    local version = decoded_ok and type(decoded) == "table" and decoded.version or "?"
    vim.health.ok(("proxy reachable at %s (version %s)"):format(pm.proxy_url(), version))
  elseif status then
    vim.health.warn(("proxy at %s answered HTTP %d"):format(url, status))
  else
    vim.health.warn(("proxy not reachable at %s: %s"):format(pm.proxy_url(), body), {
      "Start it with `promptmeter proxy` and point your agent at it (ANTHROPIC_BASE_URL, OPENAI_BASE_URL)",
      "Token counts in prompt files work without it",
    })
  end

  -- The language server.
  local clients = pm.clients()
  if #clients == 0 then
    vim.health.info("no promptmeter language server running (it starts when a prompt file is opened)")
  end
  for _, client in ipairs(clients) do
    vim.health.ok(("language server %d running, root %s, %d buffers"):format(
      client.id, client.root_dir or "-", vim.tbl_count(client.attached_buffers)))
  end
  local spend = require("promptmeter.statusline").get()
  if spend then
    vim.health.info("statusline: " .. require("promptmeter.statusline").text())
  end
end

return M
