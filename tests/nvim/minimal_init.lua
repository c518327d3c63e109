-- Loaded with `nvim --headless -u tests/nvim/minimal_init.lua`; XDG dirs are isolated by run.sh.
local root = assert(vim.env.PROMPTMETER_ROOT, "PROMPTMETER_ROOT is not set")
vim.opt.runtimepath:prepend(root .. "/clients/nvim")
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"
vim.opt.more = false
package.path = root .. "/tests/nvim/?.lua;" .. package.path
