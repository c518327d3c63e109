-- User commands only; everything else loads on first use.
if vim.g.loaded_promptmeter then
  return
end
vim.g.loaded_promptmeter = true

local subcommands = { "composition", "model", "restart", "info" }

vim.api.nvim_create_user_command("Promptmeter", function(args)
  require("promptmeter.commands").run(args.fargs)
end, {
  nargs = "*",
  desc = "promptmeter: composition | model [id] | restart | info",
  complete = function(arg_lead, cmdline)
    local words = vim.split(cmdline, "%s+", { trimempty = true })
    local n = #words + (cmdline:match("%s$") and 1 or 0)
    if n <= 2 then
      return vim.tbl_filter(function(s)
        return vim.startswith(s, arg_lead)
      end, subcommands)
    end
    if (words[2] == "model" or words[2] == "composition") and n == 3 then
      return vim.tbl_filter(function(s)
        return vim.startswith(s, arg_lead)
      end, require("promptmeter").config.models)
    end
    return {}
  end,
})
