-- dllint as an nvim-lspconfig server. Put this in your config (after nvim-lspconfig loads),
-- or copy the `default_config` table into your own setup.
--
-- Neovim 0.11+ without nvim-lspconfig can use the built-in API instead:
--   vim.lsp.config("dllint", { cmd = { "dllint", "server" }, filetypes = { "python" },
--     root_markers = { "dllint.toml", ".dllint.toml", "pyproject.toml", ".git" } })
--   vim.lsp.enable("dllint")

local configs = require("lspconfig.configs")
local util = require("lspconfig.util")

if not configs.dllint then
  configs.dllint = {
    default_config = {
      cmd = { "dllint", "server" },
      filetypes = { "python" },
      root_dir = util.root_pattern("dllint.toml", ".dllint.toml", "pyproject.toml", "setup.py", ".git"),
      single_file_support = true,
      init_options = {},
    },
    docs = {
      description = [[
dllint: a linter for the architecture of deep-learning training code (MODLR roles: Model,
Optimizer, Dataset, Loss, Runner). Install the `dllint` binary (`cargo install --path .`).
]],
    },
  }
end

require("lspconfig").dllint.setup({})
