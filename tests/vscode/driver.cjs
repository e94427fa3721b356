// Drives a real VS Code (code-server) in headless Chromium for tests/vscode.rs: opens a file,
// reads the Problems panel, applies a quick fix, saves, reads the panel again, and writes what it
// saw as JSON. It only drives and reports; tests/vscode.rs makes the assertions.
//
//   node driver.cjs PLAN.json RESULT.json     (puppeteer-core resolved through NODE_PATH)
//
// PLAN: { devtools, url, file, expected: [PROBLEM], fix: { line, title },
//         expected_after: [PROBLEM], screenshot, failure_screenshot }
// where PROBLEM is "CODE Ln:Col message" as `problem()` below renders a panel row; the driver
// waits (with a timeout) until the panel shows exactly these, and reports what it shows either
// way. RESULT: { before, actions, after, saved, steps, error } (`error` when a step failed).

"use strict";

const fs = require("fs");
const puppeteer = require("puppeteer-core");

const [planPath, resultPath] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(planPath, "utf8"));
const result = { before: null, actions: null, after: null, saved: false, steps: [] };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function step(name) {
  result.steps.push(name);
  process.stderr.write(`[vscode driver] ${name}\n`);
}

// Poll `probe` until `done(value)` or `ms` elapse; the last value either way.
async function poll(probe, done, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) {
      return { value, ok: done(value) };
    }
    await sleep(250);
  }
}

async function chord(page, keys) {
  // keys: e.g. ["Control", "Shift", "KeyM"]: hold all but the last, press the last.
  const held = keys.slice(0, -1);
  for (const key of held) await page.keyboard.down(key);
  await page.keyboard.press(keys[keys.length - 1]);
  for (const key of held.reverse()) await page.keyboard.up(key);
}

// Press `keys` until `selector` shows up (up to five times, 6 s each): on a loaded machine a
// shortcut pressed while the focus moves can go unanswered.
async function pressUntil(page, keys, selector, options = { visible: true }) {
  for (let attempt = 1; ; attempt++) {
    await chord(page, keys);
    try {
      return await page.waitForSelector(selector, { ...options, timeout: 6000 });
    } catch (error) {
      if (attempt === 5) {
        throw new Error(`${keys.join("+")} five times, and still no ${selector}`);
      }
      step(`${keys.join("+")}: no ${selector} yet (attempt ${attempt})`);
    }
  }
}

// The Problems panel as the user sees it: one entry per problem row ("CODE Ln:Col message",
// the message's first line), plus the badge count on the Problems tab and any other text
// (e.g. "No problems have been detected in the workspace.").
async function problems(page) {
  return page.evaluate(() => {
    const panel = document.querySelector(".markers-panel");
    if (!panel) return { open: false, rows: [], badge: null, text: "", notifications: [] };
    const rows = [];
    for (const row of panel.querySelectorAll(".monaco-list-row")) {
      const details = row.querySelector(".marker-message-details-container");
      if (!details) continue; // file rows and related-information rows
      const text = (selector) => {
        const element = details.querySelector(selector);
        return element ? element.textContent.trim() : "";
      };
      const icon = row.querySelector(".marker-icon");
      const severity = icon
        ? ["error", "warning", "info"].find((s) => icon.classList.contains(s)) || "?"
        : "?";
      const position = text(".marker-line").match(/Ln (\d+), Col (\d+)/);
      rows.push({
        severity,
        source: text(".marker-source"),
        code: text(".marker-code"),
        line: position ? Number(position[1]) : null,
        column: position ? Number(position[2]) : null,
        message: text(".marker-message"),
      });
    }
    const tab = [...document.querySelectorAll(".composite-bar .action-item")].find((item) =>
      /Problems/.test(item.textContent),
    );
    const badge = tab && tab.querySelector(".badge-content");
    // Notifications (e.g. the extension's "could not start" error) explain an empty panel.
    const notifications = [...document.querySelectorAll(".notification-list-item-message")].map(
      (message) => message.textContent.trim(),
    );
    return {
      open: true,
      rows,
      badge: badge ? badge.textContent.trim() : null,
      text: panel.innerText.slice(0, 4000),
      notifications,
    };
  });
}

function problem(row) {
  return `${row.code} ${row.line}:${row.column} ${row.message}`;
}

function sameSet(panel, expected) {
  const seen = panel.rows.map(problem).sort();
  const want = [...expected].sort();
  return seen.length === want.length && seen.every((p, i) => p === want[i]);
}

// The badge on the Problems tab counts every problem; all must be on screen (the list is
// virtualised: rows out of view are not in the DOM). The badge is updated after the rows (it can
// be empty for a moment while they are already there), so both are waited for together.
function badgeAgrees(panel) {
  return panel.badge === null || panel.badge === String(panel.rows.length);
}

async function waitForProblems(page, expected, what) {
  const { value, ok } = await poll(
    () => problems(page),
    (p) => sameSet(p, expected) && badgeAgrees(p),
    60000,
  );
  if (!ok && sameSet(value, expected)) {
    throw new Error(
      `${what}: Problems badge says "${value.badge}" after 60 s, ${value.rows.length} rows read`,
    );
  }
  if (!ok) {
    throw new Error(
      `${what}: the Problems panel did not show the expected problems within 60 s.\n` +
        `expected:\n  ${expected.join("\n  ")}\npanel rows:\n  ${value.rows.map(problem).join("\n  ")}\n` +
        `panel text:\n${value.text}\nnotifications:\n  ${value.notifications.join("\n  ")}`,
    );
  }
  return value.rows;
}

async function main() {
  step(`connect to Chromium at ${plan.devtools}`);
  const browser = await puppeteer.connect({
    browserURL: plan.devtools,
    defaultViewport: { width: 1400, height: 900 },
  });
  const page = await browser.newPage();
  try {
    step(`open ${plan.url}`);
    await page.goto(plan.url, { waitUntil: "domcontentloaded", timeout: 60000 });
    await page.waitForSelector(".monaco-workbench .part.editor", { timeout: 60000 });
    // The workbench takes keyboard input once the explorer has listed the folder.
    await page.waitForSelector(`.explorer-folders-view .monaco-list-row[aria-label="${plan.file}"]`, {
      timeout: 60000,
    });

    step(`quick open (Ctrl+P) ${plan.file}`);
    await pressUntil(page, ["Control", "KeyP"], ".quick-input-widget input");
    await page.keyboard.type(plan.file);
    await page.waitForSelector(
      `.quick-input-list .monaco-list-row[aria-label*="${plan.file}"]`,
      { visible: true, timeout: 20000 },
    );
    await page.keyboard.press("Enter");
    await page.waitForSelector(`.tabs-container .tab.active[aria-label*="${plan.file}"]`, {
      timeout: 20000,
    });

    step("open the Problems panel (Ctrl+Shift+M) and wait for dllint's diagnostics");
    await pressUntil(page, ["Control", "Shift", "KeyM"], ".markers-panel");
    result.before = (await waitForProblems(page, plan.expected, "before the fix")).map(problem);
    result.before_rows = (await problems(page)).rows;

    step(`go to line ${plan.fix.line} (Ctrl+G) and open the quick-fix menu (Ctrl+.)`);
    await page.click(".monaco-editor .view-lines");
    await pressUntil(page, ["Control", "KeyG"], ".quick-input-widget input");
    await page.keyboard.type(String(plan.fix.line));
    await page.keyboard.press("Enter");
    await page.waitForSelector(".quick-input-widget", { hidden: true, timeout: 20000 });
    await page.waitForSelector(".monaco-editor.focused", { timeout: 20000 });
    // On a loaded machine a Ctrl+. can go unanswered (pressed while the focus moves back to the
    // editor): press it again, up to five times, each waiting 6 s for the menu.
    let menu;
    for (let attempt = 1; attempt <= 5; attempt++) {
      await chord(page, ["Control", "Period"]);
      menu = await poll(
        () =>
          page.$$eval(".action-widget .monaco-list-row.action", (rows) =>
            rows.map((row) => row.textContent.trim()),
          ),
        (titles) => titles.length > 0,
        6000,
      );
      if (menu.ok) break;
      // VS Code's own word on it, if any ("No code actions available").
      const message = await page.$$eval(".monaco-editor-overlaymessage", (messages) =>
        messages.map((m) => m.textContent.trim()).join(" "),
      );
      step(`no quick-fix menu after Ctrl+. (attempt ${attempt}; editor message: "${message}")`);
      await page.keyboard.press("Escape");
    }
    result.actions = menu.value;
    if (!menu.value.includes(plan.fix.title)) {
      throw new Error(
        `the quick-fix menu has no "${plan.fix.title}": ${JSON.stringify(menu.value)}`,
      );
    }
    if (plan.screenshot) {
      step(`screenshot ${plan.screenshot}`);
      await page.screenshot({ path: plan.screenshot });
    }

    step(`apply "${plan.fix.title}" and save (Ctrl+S)`);
    // Keyboard, as a user would: move the focus to the action, then Enter.
    for (let i = 0; i <= menu.value.length; i++) {
      const focused = await page.$eval(".action-widget .monaco-list-row.action.focused", (row) =>
        row.textContent.trim(),
      );
      if (focused === plan.fix.title) break;
      await page.keyboard.press("ArrowDown");
    }
    await page.keyboard.press("Enter");
    await page.waitForSelector(".action-widget", { hidden: true, timeout: 20000 });
    await page.waitForSelector(`.tabs-container .tab.active.dirty`, { timeout: 20000 });
    await pressUntil(page, ["Control", "KeyS"], ".tabs-container .tab.active:not(.dirty)", {});
    result.saved = true;

    step("wait for the Problems panel to drop the fixed finding");
    result.after = (await waitForProblems(page, plan.expected_after, "after the fix")).map(
      problem,
    );
  } catch (error) {
    // What the window showed when the step failed, for the failure message.
    if (plan.failure_screenshot) {
      await page.screenshot({ path: plan.failure_screenshot }).catch(() => {});
    }
    throw error;
  } finally {
    await browser.disconnect();
  }
}

main()
  .catch((error) => {
    result.error = String(error && error.stack ? error.stack : error);
  })
  .finally(() => {
    fs.writeFileSync(resultPath, JSON.stringify(result, null, 2));
    process.exit(0);
  });
