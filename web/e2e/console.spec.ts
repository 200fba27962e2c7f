import { expect, test, type APIRequestContext, type Page } from "@playwright/test";

import { clientAddress, createPage, screenshot, uniqueSlug } from "./support";

/** The run's admin token, issued by scripts/e2e.sh. */
const ADMIN_TOKEN = process.env.E2E_ADMIN_TOKEN ?? "";
// scripts/e2e.sh issues the token and names the projectors: without them the console cannot
// be tested, which is a failure, never a skip.
if (ADMIN_TOKEN === "") throw new Error("E2E_ADMIN_TOKEN is not set: run the end-to-end tests with scripts/e2e.sh");
/** The projectors' pids, to freeze and resume them. */
const PROJECTOR_PIDS = (process.env.E2E_PROJECTOR_PIDS ?? "").split(/\s+/).filter(Boolean).map(Number);

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Opens the console and signs in with the run's token. */
async function signIn(page: Page): Promise<void> {
  await page.goto("/admin");
  await expect(page.getByTestId("admin-sign-in")).toBeVisible();
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByTestId("admin-sign-in-submit").click();
  await expect(page.getByTestId("admin-signed-in")).toContainText("e2e");
}

/** Changes a page's title through the API, as its author. */
async function retitle(request: APIRequestContext, slug: string, token: string, title: string): Promise<void> {
  const response = await request.patch(`/api/pages/${slug}`, {
    headers: { "x-edit-token": token },
    data: { title },
  });
  expect(response.status(), await response.text()).toBe(200);
}

test.describe("the console", () => {
  test.use({ extraHTTPHeaders: { "x-forwarded-for": clientAddress() } });

  test("an admin finds a page, reads its events and its past, takes it down and puts it back up", async ({
    page,
    browser,
    request,
    playwright,
  }) => {
    test.setTimeout(90_000);
    const created = await createPage(request, "classic");
    await retitle(request, created.slug, created.token, "A page changed since");

    // A wrong token is refused, clearly, and nothing is kept.
    await page.goto("/admin");
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByTestId("admin-sign-in-submit").click();
    await expect(page.getByTestId("admin-sign-in-error")).toContainText("not accepted");
    await screenshot(page, "console-sign-in");
    await signIn(page);

    // The search finds it by a prefix of its slug, in any casing.
    await page.getByLabel("Slug starts with").fill(created.slug.slice(0, -2).toUpperCase());
    const row = page.locator(`[data-testid="admin-page-row"][data-slug="${created.slug}"]`);
    await expect(row).toBeVisible();
    await expect(row.getByTestId("page-state")).toHaveAttribute("data-state", "live");
    await screenshot(page, "console-pages");
    await row.getByRole("link").click();

    // Its events: the creation and the change, each opening to what it changed.
    const events = page.getByTestId("admin-event");
    await expect(events).toHaveCount(2);
    await expect(events.nth(0)).toHaveAttribute("data-event-type", "PageCreated");
    await expect(events.nth(1)).toHaveAttribute("data-event-type", "PageUpdated");
    await events.nth(1).getByTestId("admin-event-toggle").click();
    const details = page.getByTestId("admin-event-details");
    const title = details.locator('[data-testid="change"][data-field="title"]');
    await expect(title.getByTestId("change-before")).toHaveText("A classic page");
    await expect(title.getByTestId("change-after")).toHaveText("A page changed since");
    await details.getByTestId("admin-show-json").click();
    const json = details.getByTestId("admin-stored-json");
    await expect(json).toContainText("A page changed since");
    await expect(json).not.toContainText(created.token);
    await page.getByTestId("admin-events").scrollIntoViewIfNeeded();
    await screenshot(page, "console-events");

    // As of its creation: the page in its design, beside what the creation set.
    const createdAt = await events.nth(0).getAttribute("data-stream-sequence");
    await events.nth(0).getByTestId("admin-as-of-button").click();
    const asOf = page.getByTestId("admin-as-of");
    await expect(asOf).toHaveAttribute("data-at", createdAt!);
    await expect(asOf.getByTestId("page-design")).toHaveAttribute("data-template", "classic");
    await expect(asOf.getByTestId("page-title")).toHaveText("A classic page");
    await expect(
      page.getByTestId("admin-as-of-changes").locator('[data-testid="change"][data-field="title"]'),
    ).toBeVisible();
    // Typed by hand, the latest sequence shows the page as it is now.
    const changedAt = await events.nth(1).getAttribute("data-stream-sequence");
    await page.getByLabel("As of stream sequence or time").fill(changedAt!);
    await page.getByTestId("admin-as-of-go").click();
    await expect(asOf).toHaveAttribute("data-at", changedAt!);
    await expect(asOf.getByTestId("page-title")).toHaveText("A page changed since");
    await page.getByRole("heading", { name: "Time travel" }).scrollIntoViewIfNeeded();
    await screenshot(page, "console-time-travel");

    // Taken down: a reason is required; then everyone but the author reads 451.
    const moderation = page.getByTestId("admin-moderation");
    await page.getByTestId("admin-take-down").click();
    await expect(page.getByTestId("admin-moderation-error")).toBeVisible();
    await page.getByLabel("Why take it down?").fill("Spam links, checked by e2e");
    await page.getByTestId("admin-take-down").click();
    await expect(page.getByTestId("admin-moderation-feedback")).toContainText("Taken down by e2e");
    await expect(moderation).toHaveAttribute("data-taken-down", "true");
    await expect(events.filter({ has: page.locator("text=PageTakenDown") })).toHaveCount(1);
    await page.getByRole("heading", { name: "Moderation" }).scrollIntoViewIfNeeded();
    await screenshot(page, "console-taken-down");

    const stranger = await playwright.request.newContext({
      baseURL: test.info().project.use.baseURL,
      extraHTTPHeaders: { "x-forwarded-for": clientAddress() },
    });
    const read = await stranger.get(`/api/pages/${created.slug}`);
    expect(read.status()).toBe(451);
    expect(((await read.json()) as { code: string }).code).toBe("taken_down");
    const author = await stranger.get(`/api/pages/${created.slug}`, { headers: { "x-edit-token": created.token } });
    expect(author.status()).toBe(200);
    expect(((await author.json()) as { taken_down: { reason: string } }).taken_down.reason).toBe(
      "Spam links, checked by e2e",
    );

    const visitor = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": clientAddress() } });
    const visitorPage = await visitor.newPage();
    await visitorPage.goto(`/${created.slug}`);
    await expect(visitorPage.getByTestId("page-taken-down")).toContainText("taken down by its moderators");
    await expect(visitorPage.getByTestId("page-design")).toHaveCount(0);
    await expect(visitorPage.getByText("A page changed since")).toHaveCount(0);
    await screenshot(visitorPage, "public-taken-down");

    // Reinstated: everyone reads it again.
    await page.getByLabel("Why put it back up?").fill("Reviewed again: fine");
    await page.getByTestId("admin-reinstate").click();
    await expect(moderation).toHaveAttribute("data-taken-down", "false");
    expect((await stranger.get(`/api/pages/${created.slug}`)).status()).toBe(200);
    await visitorPage.reload();
    await expect(visitorPage.getByTestId("page-title")).toHaveText("A page changed since");
    await visitor.close();
    await stranger.dispose();

    // Signing out forgets the token.
    await page.getByTestId("admin-sign-out").click();
    await expect(page.getByTestId("admin-sign-in")).toBeVisible();
    expect(await page.evaluate(() => Object.keys(window.sessionStorage))).not.toContain("valentine:admin-token");
  });

  test("a visitor reports a page from its public view; the console lists it, open", async ({
    page,
    browser,
    request,
  }) => {
    const created = await createPage(request, "modern");
    const visitor = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": clientAddress() } });
    const visitorPage = await visitor.newPage();
    await visitorPage.goto(`/${created.slug}`);
    await expect(visitorPage.getByTestId("page-title")).toBeVisible();
    await visitorPage.getByTestId("report-page").click();
    const dialog = visitorPage.getByRole("dialog", { name: "Report this page" });
    await expect(dialog).toBeVisible();
    await dialog.getByLabel("Spam or advertising").check();
    await dialog.getByLabel(/Anything else/).fill("Links to a shop, noticed by e2e");
    await screenshot(visitorPage, "public-report-dialog");
    await dialog.getByTestId("send-report").click();
    await expect(visitorPage.getByTestId("report-sent")).toBeVisible();
    await visitor.close();

    await signIn(page);
    await page.getByRole("link", { name: "Reports" }).click();
    const reported = page.locator(`[data-testid="admin-reported-page"][data-slug="${created.slug}"]`);
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect(reported).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 15_000 });
    await expect(reported).toHaveAttribute("data-open", "true");
    await expect(reported).toContainText("Spam or advertising");
    await screenshot(page, "console-reports");

    await reported.getByRole("link").click();
    const report = page.getByTestId("admin-page-report");
    await expect(report).toHaveAttribute("data-reason", "spam");
    await expect(report).toContainText("Links to a shop, noticed by e2e");

    await page.getByRole("link", { name: "Streams" }).click();
    const events = page.locator('[data-testid="admin-stream"]').first();
    await expect(events).toBeVisible();
    await expect(page.locator('[data-testid="admin-consumer"][data-name^="projector-"]').first()).toBeVisible();
    await screenshot(page, "console-streams");
  });
});

/** The lag of the projectors' consumers of the page events, as the health view shows it. */
async function projectorLag(page: Page): Promise<number> {
  const rows = page.locator('[data-testid="admin-lag-consumer"][data-consumer^="projector-"]');
  const values = await rows.evaluateAll((els) =>
    els
      .filter((el) => !(el as HTMLElement).dataset.consumer!.endsWith("-views"))
      .map((el) => Number((el as HTMLElement).dataset.lagEvents)),
  );
  return values.length === 0 ? -1 : Math.max(...values);
}

// Freezes every projector: it runs in a project of its own, after every other test (see
// playwright.config.ts), so that no other test waits on a frozen read model.
test.describe("the console's health view @freezes-projectors", () => {
  if (PROJECTOR_PIDS.length === 0) throw new Error("E2E_PROJECTOR_PIDS is not set: run with scripts/e2e.sh");

  test("a projector's lag rises while it is stopped and falls after it resumes", async ({ page, request }) => {
    test.setTimeout(120_000);
    const lagAnswer = await request.get("/api/admin/lag", { headers: admin });
    expect(lagAnswer.status()).toBe(200);

    await signIn(page);
    await page.getByRole("link", { name: "Health" }).click();
    await expect(page.getByTestId("admin-lag")).toBeVisible();
    await expect.poll(() => projectorLag(page), { timeout: 30_000 }).toBe(0);
    await expect(page.locator('[data-testid="admin-worker"][data-role="projector"]').first()).toBeVisible();
    await screenshot(page, "console-health");

    const frozen: number[] = [];
    try {
      for (const pid of PROJECTOR_PIDS) {
        process.kill(pid, "SIGSTOP");
        frozen.push(pid);
      }
      // Pages made meanwhile wait in the stream: the API answers once they are stored.
      for (let i = 0; i < 3; i += 1) {
        const response = await request.post("/api/pages", {
          headers: { "x-forwarded-for": clientAddress() },
          data: {
            slug: uniqueSlug("frozen"),
            title: "Made while the projectors sleep",
            message: "Still here when they wake up.",
            template_id: "classic",
          },
        });
        expect([201, 202], await response.text()).toContain(response.status());
      }
      // The view asks again by itself every 2 s.
      await expect.poll(() => projectorLag(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
      await expect(page.locator("tr.is-behind").first()).toBeVisible();
      await screenshot(page, "console-health-lagging");
    } finally {
      for (const pid of frozen) process.kill(pid, "SIGCONT");
    }

    await expect.poll(() => projectorLag(page), { timeout: 60_000 }).toBe(0);
    await expect(
      page.locator('[data-testid="admin-worker"][data-role="projector"][data-stuck="false"]').first(),
    ).toBeVisible();
  });
});
