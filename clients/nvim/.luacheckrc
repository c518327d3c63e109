-- luacheck for the plugin and its tests (Neovim's LuaJIT with the `vim` global).
std = "luajit"
globals = { "vim" }
max_line_length = 130
