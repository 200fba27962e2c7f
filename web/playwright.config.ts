import { defineConfig } from "@playwright/test";

// End-to-end tests against the real running stack, started by scripts/e2e.sh, which passes
// the API's address (E2E_BASE_URL) and Debian's Chromium (E2E_CHROMIUM). Playwright never
// downloads a browser here.
const baseURL = process.env.E2E_BASE_URL;
if (!baseURL) throw new Error("E2E_BASE_URL is not set: run the end-to-end tests with scripts/e2e.sh");

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results/playwright",
  fullyParallel: true,
  workers: 2,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  projects: [
    { name: "chromium", grepInvert: /@freezes-projectors/ },
    // Tests that freeze the projectors run alone, once every other test is done (scripts/e2e.sh
    // runs the two projects one after the other).
    { name: "frozen projectors", grep: /@freezes-projectors/, dependencies: ["chromium"] },
  ],
  use: {
    baseURL,
    viewport: { width: 1100, height: 900 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
