-- dllint for Neovim: starts `dllint server` for Python buffers.
--
-- Neovim >= 0.8 uses `vim.lsp.start` (which reuses one client per root directory); Neovim 0.7
-- falls back to `vim.lsp.start_client` + `vim.lsp.buf_attach_client`, reusing clients itself.
--
--   require("dllint").setup()                          -- defaults
--   require("dllint").setup({ cmd = { "/path/to/dllint", "server", "--select", "DL1" } })

local M = {}

M.defaults = {
  -- The server command; add `dllint server` options here (`--config FILE`, `--select DL1`, ...).
  cmd = { "dllint", "server" },
  filetypes = { "python" },
  -- The nearest directory holding one of these is the workspace root (configuration is still
  -- resolved per file, nearest file first, exactly like `dllint check`).
  root_markers = { "dllint.toml", ".dllint.toml", "pyproject.toml", "setup.py", ".git" },
  -- Sent as `initializationOptions`; `debounceMs` sets the delay between typing and linting.
  init_options = {},
  -- Extra fields merged into the client configuration (`on_attach`, `capabilities`, ...).
  client = {},
}

M.config = vim.deepcopy(M.defaults)

-- Neovim 0.7 has no vim.lsp.start: one client per root, started on demand.
local clients_by_root = {}

local function find_root(path, markers)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while dir and dir ~= "" do
    for _, marker in ipairs(markers) do
      if vim.loop.fs_stat(dir .. "/" .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      break
    end
    dir = parent
  end
  return vim.fn.fnamemodify(path, ":p:h")
end

--- Start (or reuse) the dllint client for a buffer and attach it. Returns the client id.
function M.start(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = find_root(name ~= "" and name or vim.fn.getcwd() .. "/untitled.py", M.config.root_markers)
  local config = vim.tbl_extend("force", {
    name = "dllint",
    cmd = M.config.cmd,
    root_dir = root,
    init_options = M.config.init_options,
  }, M.config.client)

  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = bufnr })
  end

  local id = clients_by_root[root]
  if id == nil or vim.lsp.get_client_by_id(id) == nil then
    config.workspace_folders = { { uri = vim.uri_from_fname(root), name = root } }
    id = vim.lsp.start_client(config)
    clients_by_root[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- Configure and start dllint for every buffer of `filetypes` (now and when opened later).
function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  if vim.fn.executable(M.config.cmd[1]) ~= 1 then
    vim.notify("dllint: `" .. M.config.cmd[1] .. "` not found; set `cmd` in require('dllint').setup()", vim.log.levels.WARN)
    return
  end
  local group = vim.api.nvim_create_augroup("dllint", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.start(args.buf)
    end,
  })
  -- Buffers that were already open when setup ran.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      M.start(bufnr)
    end
  end
end

return M
