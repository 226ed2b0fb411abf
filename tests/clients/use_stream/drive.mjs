// Runs page.jsx in headless Chromium, the way a user's browser runs an application built on
// useStream, and prints what the hook showed for each case as one JSON line.
//
//   node drive.mjs CASES_JSON
//
// CASES_JSON: a list of cases, each {name, api, assistant, prompt, configurable, headers?,
// group?, threadId? or threadFrom?, expectMessages?}. A case with a prompt clicks "send" and
// waits for the run to end. A case without one opens a thread and waits until expectMessages
// messages show (the hook loads the thread's state itself): threadFrom names an earlier case of
// the same group whose thread to open, and expectMessages defaults to what that case ended
// with. The page comes from an HTTP server of this script on another loopback port than the
// API: the browser applies CORS as it does to a deployed app.
import { build } from "esbuild";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CASE_TIMEOUT_MS = Number(process.env.CASE_TIMEOUT_MS ?? 30000);
// The closed network refuses Chromium's own background connections; without these flags it
// keeps trying (docs: the machine notes on headless Chromium).
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function bundle() {
  const result = await build({
    entryPoints: [join(HERE, "page.jsx")],
    bundle: true,
    write: false,
    format: "esm",
    jsx: "automatic",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
  });
  return result.outputFiles[0].contents;
}

function serve(script) {
  const html = '<!doctype html><meta charset="utf-8"><div id="root"></div><script type="module" src="/page.js"></script>';
  const server = createServer((request, response) => {
    if (request.url.startsWith("/page.js")) {
      response.writeHead(200, { "content-type": "text/javascript" });
      response.end(script);
    } else {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(html);
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function runCase(browser, origin, testCase) {
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  const url = `${origin}/?case=${encodeURIComponent(JSON.stringify(testCase))}`;
  let timedOut = false;
  try {
    await page.goto(url);
    if (testCase.prompt !== undefined) {
      await page.waitForFunction(() => window.__state !== undefined, null, { timeout: CASE_TIMEOUT_MS });
      await page.click("#send");
      await page.waitForFunction(() => window.__state?.finished === true, null, {
        timeout: CASE_TIMEOUT_MS,
      });
    } else {
      await page.waitForFunction(
        (count) => window.__state?.messages.length >= count && !window.__state.isLoading,
        testCase.expectMessages ?? 1,
        { timeout: CASE_TIMEOUT_MS },
      );
    }
  } catch (error) {
    if (error.name !== "TimeoutError") throw error;
    timedOut = true;
  }
  const state = await page.evaluate(() => window.__state ?? null);
  await page.close();
  return { name: testCase.name, timedOut, console: consoleErrors, state };
}

// Cases of one group run in order (a case may open the thread an earlier one made); groups run
// side by side, GROUPS_AT_ONCE at a time: the paced cases mostly wait for the model.
async function runGroup(browser, origin, group) {
  const results = [];
  for (const testCase of group) {
    const result = await runCase(browser, origin, testCase);
    for (const later of group) {
      if (later.threadFrom !== testCase.name) continue;
      later.threadId = result.state?.threadId;
      // reopened, the thread shows what its run ended with
      later.expectMessages ??= Math.max(1, result.state?.messages.length ?? 0);
    }
    results.push(result);
  }
  return results;
}

const cases = JSON.parse(process.argv[2]);
const groups = new Map();
for (const testCase of cases) {
  const key = testCase.group ?? testCase.name;
  groups.set(key, [...(groups.get(key) ?? []), testCase]);
}
const pending = [...groups.values()];
const server = await serve(await bundle());
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  const results = [];
  const worker = async () => {
    for (let group = pending.shift(); group; group = pending.shift()) {
      results.push(...(await runGroup(browser, origin, group)));
    }
  };
  const atOnce = Number(process.env.GROUPS_AT_ONCE ?? 3);
  await Promise.all(Array.from({ length: atOnce }, worker));
  process.stdout.write(`${JSON.stringify(results)}\n`);
} finally {
  await browser.close();
  server.close();
}
