//! dllint in a real editor: headless Neovim (0.7+) runs the shipped plugin
//! (`editors/neovim/lua/dllint`), which starts `dllint server`; a Lua script waits for the
//! diagnostics, optionally applies a code action, and writes what the editor shows as JSON.
//! Skipped, with a message, when `nvim` is not installed (CI installs it, see `.ci/run`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn nvim() -> Option<PathBuf> {
    let found = Command::new("nvim")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    // CI sets DLLINT_REQUIRE_NVIM so that a missing install fails instead of skipping.
    assert!(
        found || std::env::var_os("DLLINT_REQUIRE_NVIM").is_none(),
        "nvim is required (DLLINT_REQUIRE_NVIM is set) but not installed"
    );
    found.then(|| PathBuf::from("nvim"))
}

/// The Lua run inside Neovim: start dllint through the plugin, wait for diagnostics, run
/// `scenario` (a Lua function body returning a table), write the table as JSON, quit.
fn init_lua(out: &Path, scenario: &str) -> String {
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/neovim");
    format!(
        r#"
vim.opt.runtimepath:prepend([[{plugin}]])
vim.opt.swapfile = false
vim.cmd("filetype on")
local out = [[{out}]]

local function write(result)
  local file = io.open(out, "w")
  file:write(vim.fn.json_encode(result))
  file:close()
end

local function diagnostics()
  local list = {{}}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(list, {{ lnum = d.lnum, col = d.col, end_col = d.end_col, code = d.code,
      source = d.source, message = d.message, severity = d.severity }})
  end
  return list
end

local function wait_for(predicate)
  return vim.wait(30000, predicate, 20)
end

require("dllint").setup({{ cmd = {{ [[{bin}]], "server" }}, init_options = {{ debounceMs = 20 }} }})

vim.api.nvim_create_autocmd("VimEnter", {{
  callback = function()
    local ok, result = pcall(function()
      assert(wait_for(function() return #vim.diagnostic.get(0) > 0 end), "no diagnostics arrived")
      {scenario}
    end)
    if ok then
      write(result)
    else
      write({{ error = tostring(result) }})
    end
    vim.cmd("qa!")
  end,
}})
"#,
        plugin = plugin.display(),
        out = out.display(),
        bin = env!("CARGO_BIN_EXE_dllint"),
    )
}

/// Run Neovim on `file` with `scenario`; the JSON it wrote.
fn run_neovim(nvim: &Path, dir: &Path, file: &str, scenario: &str) -> Value {
    let out = dir.join("result.json");
    let init = dir.join("init.lua");
    std::fs::write(&init, init_lua(&out, scenario)).unwrap();
    let mut child = Command::new(nvim)
        .args(["--headless", "-n", "-i", "NONE", "-u"])
        .arg(&init)
        .arg(file)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nvim starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("nvim did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&out).unwrap_or_else(|_| {
        let mut stderr = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .ok();
        panic!("nvim wrote no result; stderr: {stderr}")
    });
    let value: Value = serde_json::from_str(&text).unwrap();
    assert!(value.get("error").is_none(), "Lua failed: {value}");
    value
}

#[test]
fn neovim_shows_dllint_diagnostics() {
    let Some(nvim) = nvim() else {
        common::skipped(
            "neovim_shows_dllint_diagnostics: `nvim` is not installed (apt-get install neovim)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("train.py"),
        "import torch\nimport pdb\n\nx = torch.zeros(3)\n",
    )
    .unwrap();
    let result = run_neovim(
        &nvim,
        dir.path(),
        "train.py",
        "return { diagnostics = diagnostics() }",
    );
    let diagnostics = result["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{result}");
    let d = &diagnostics[0];
    assert_eq!(d["code"], "DL305");
    assert_eq!(d["source"], "dllint");
    assert_eq!(
        (d["lnum"].as_u64(), d["col"].as_u64(), d["end_col"].as_u64()),
        (Some(1), Some(7), Some(10))
    );
    assert_eq!(d["severity"], 2, "vim.diagnostic.severity.WARN");
    assert!(d["message"].as_str().unwrap().contains("pdb"), "{d}");
}

#[test]
fn neovim_applies_the_noqa_code_action() {
    let Some(nvim) = nvim() else {
        common::skipped(
            "neovim_applies_the_noqa_code_action: `nvim` is not installed (apt-get install neovim)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("debug.py"),
        "x = 'é'\nimport pdb  # noqa: F401\n",
    )
    .unwrap();
    // On line 2, ask for code actions as `vim.lsp.buf.code_action()` would (cursor range plus
    // the line's diagnostics as context), apply "Disable DL305 for this line", and wait until
    // the server, told of the edit through didChange, clears the diagnostics.
    let scenario = r#"
      vim.api.nvim_win_set_cursor(0, { 2, 0 })
      local client = vim.lsp.get_active_clients()[1]
      local params = vim.lsp.util.make_range_params()
      -- What vim.lsp.buf.code_action() sends as context on Neovim 0.7-0.9.
      local context = vim.lsp.diagnostic.get_line_diagnostics and vim.lsp.diagnostic.get_line_diagnostics(0) or {}
      params.context = { diagnostics = context }
      local responses = vim.lsp.buf_request_sync(0, "textDocument/codeAction", params, 30000)
      local titles = {}
      local applied = false
      for _, response in pairs(responses or {}) do
        for _, action in ipairs(response.result or {}) do
          table.insert(titles, action.title)
          if action.title == "Disable DL305 for this line" and not applied then
            vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
            applied = true
          end
        end
      end
      assert(applied, "no noqa action among: " .. vim.inspect(titles))
      local cleared = wait_for(function() return #vim.diagnostic.get(0) == 0 end)
      return {
        titles = titles,
        cleared = cleared,
        lines = vim.api.nvim_buf_get_lines(0, 0, -1, false),
        diagnostics = diagnostics(),
      }
    "#;
    let result = run_neovim(&nvim, dir.path(), "debug.py", scenario);
    assert_eq!(
        result["titles"],
        serde_json::json!([
            "DL305: Remove the debugger import",
            "Disable DL305 for this line",
            "dllint: Fix all safely fixable problems"
        ]),
        "{result}"
    );
    assert_eq!(
        result["lines"],
        serde_json::json!(["x = 'é'", "import pdb  # noqa: DL305, F401"]),
        "{result}"
    );
    assert_eq!(result["cleared"], true, "{result}");
    assert_eq!(result["diagnostics"], serde_json::json!([]));
}
