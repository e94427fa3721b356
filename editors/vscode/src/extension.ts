// dllint for VS Code: a thin client. All analysis happens in `dllint server` (the same engine as
// `dllint check`); this file only starts it and restarts it when the settings change.

import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("dllint.restart", restart),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (
        event.affectsConfiguration("dllint.enable") ||
        event.affectsConfiguration("dllint.path") ||
        event.affectsConfiguration("dllint.args")
      ) {
        await restart();
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function start(): Promise<void> {
  const config = vscode.workspace.getConfiguration("dllint");
  if (!config.get<boolean>("enable", true)) {
    return;
  }
  const command = config.get<string>("path") || "dllint";
  const args = ["server", ...config.get<string[]>("args", [])];
  // No `transport`: with `TransportKind.stdio` the client appends `--stdio` to the arguments,
  // which `dllint server` (always stdio) rejects. Without one it still talks over stdio.
  const serverOptions: ServerOptions = {
    run: { command, args },
    debug: { command, args },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ],
    // The server registers watchers for pyproject.toml / dllint.toml / .dllint.toml itself.
  };
  client = new LanguageClient("dllint", "dllint", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    const choice = await vscode.window.showErrorMessage(
      `dllint: could not start \`${command} server\` (${error}). Install dllint or set "dllint.path".`,
      "Open Settings",
    );
    if (choice === "Open Settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "dllint");
    }
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}
