import { readFile } from "node:fs/promises";

import { expect, test } from "@playwright/test";

import { clientAddress, createPage, MESSAGE, screenshot, uniqueSlug } from "./support";

/** What `GET /api/pages/{slug}/export` answers, as far as these tests read it. */
type Exported = {
  slug: string;
  page: { title: string };
  events: { event_type: string; data: Record<string, unknown> }[];
};

test.describe("a page's life in the browser", () => {
  test.use({ extraHTTPHeaders: { "x-forwarded-for": clientAddress() } });

  test("create a page in three steps, open its link, edit it and delete it", async ({ page, request }) => {
    const slug = uniqueSlug("made");
    await page.goto("/");
    await expect(page.getByTestId("step-1")).toBeVisible();
    await expect(page.locator('[data-testid^="template-option-"]')).toHaveCount(8);
    await page.getByTestId("template-option-modern").click();
    await screenshot(page, "creator-1-design");
    await page.getByTestId("next-step").click();

    await expect(page.getByTestId("step-2")).toBeVisible();
    await page.getByLabel("Title").fill("Will you be my Valentine?");
    await page.getByLabel("Message").fill(MESSAGE);
    await page.getByLabel("From").fill("Sam");
    await page.getByLabel("To").fill("Alex");
    await screenshot(page, "creator-2-words");
    await page.getByTestId("next-step").click();

    await expect(page.getByTestId("step-3")).toBeVisible();
    // A taken address says so and offers free ones; a free one is accepted.
    const taken = await createPage(request, "classic");
    await page.getByTestId("slug-input").fill(taken.slug);
    await expect(page.getByTestId("slug-status")).toHaveAttribute("data-state", "unavailable");
    await expect(page.getByTestId("slug-suggestion").first()).toBeVisible();
    await page.getByTestId("slug-input").fill("ab");
    await expect(page.getByTestId("slug-status")).toHaveAttribute("data-state", "unavailable");
    await page.getByTestId("slug-input").fill(slug);
    await expect(page.getByTestId("slug-status")).toHaveAttribute("data-state", "available");
    await screenshot(page, "creator-3-address");
    const created = page.waitForResponse((r) => r.url().endsWith("/api/pages") && r.request().method() === "POST");
    await page.getByTestId("create-page").click();
    const position = (await created).headers()["valentine-position"];
    expect(position).toMatch(/^\d+$/);

    await expect(page.getByTestId("created")).toBeVisible();
    const shareLink = await page.getByTestId("share-link").inputValue();
    const editLink = await page.getByTestId("edit-link").inputValue();
    expect(shareLink).toMatch(new RegExp(`/${slug}$`));
    expect(editLink).toMatch(new RegExp(`/${slug}/edit#token=[A-Za-z0-9_-]{43}$`));
    await screenshot(page, "creator-4-created");

    // Read your writes: the page's first read names the create's position, whichever
    // server answers it.
    const read = page.waitForRequest((r) => r.url().endsWith(`/api/pages/${slug}`) && r.method() === "GET");
    await page.goto(shareLink);
    expect((await read).headers()["valentine-min-position"]).toBe(position);
    await expect(page.getByTestId("page-design")).toHaveAttribute("data-template", "modern");
    await expect(page.getByTestId("page-title")).toHaveText("Will you be my Valentine?");
    await expect(page.getByTestId("revealed-message")).toHaveText(MESSAGE);

    // The edit link: the token travels in the fragment and leaves the address bar.
    await page.goto(editLink);
    await expect(page.getByTestId("editor")).toBeVisible();
    expect(page.url()).not.toContain("token=");
    await page.getByLabel("Title").fill("Still my Valentine");
    await page.getByTestId("save-page").click();
    await expect(page.getByTestId("save-feedback")).toBeVisible();
    await expect(page.getByTestId("history-event")).toHaveCount(2);
    await screenshot(page, "editor");

    // Read as its author reads it (with the token): not taken for the recipient's first open.
    const token = new URL(editLink).hash.replace("#token=", "");
    const reread = await request.get(`/api/pages/${slug}`, { headers: { "X-Edit-Token": token } });
    expect(((await reread.json()) as { title: string }).title).toBe("Still my Valentine");

    // The author keeps a copy: the page and every change to it, as a JSON file.
    const downloading = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download my page" }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(new RegExp(`^valentine-${slug}-\\d{4}-\\d{2}-\\d{2}\\.json$`));
    const exported = JSON.parse(await readFile(await download.path(), "utf8")) as Exported;
    expect(exported.slug).toBe(slug);
    expect(exported.page.title).toBe("Still my Valentine");
    // Only the author looked at it (their browser sends the token): no open is recorded.
    expect(exported.events.map((e) => e.event_type)).toEqual(["PageCreated", "PageUpdated"]);
    expect(exported.events[0]?.data.message).toBe(MESSAGE);
    expect(exported.events[1]?.data.title).toBe("Still my Valentine");
    await expect(page.getByTestId("download-error")).toHaveCount(0);

    await page.getByTestId("delete-page").click();
    await page.getByTestId("confirm-delete").click();
    await expect(page.getByTestId("deleted")).toBeVisible();
    await page.goto(`/${slug}`);
    await expect(page.getByTestId("page-not-found")).toBeVisible();
  });

  test("a wrong edit link is refused clearly", async ({ page, request }) => {
    const { slug } = await createPage(request, "elegant");
    await page.goto(`/${slug}/edit#token=${"x".repeat(43)}`);
    await expect(page.getByTestId("token-rejected")).toHaveAttribute("data-status", "403");
  });
});

test.describe("rate limits", () => {
  const client = clientAddress();
  test.use({ extraHTTPHeaders: { "x-forwarded-for": client } });

  test("too many creates show a friendly message with the wait", async ({ page, request }) => {
    // The end-to-end stack allows 3 creates per hour per client: use them up.
    for (let i = 0; i < 3; i += 1) await createPage(request, "classic", client);
    await page.goto("/");
    await page.getByTestId("template-option-classic").click();
    await page.getByTestId("next-step").click();
    await page.getByLabel("Title").fill("One more");
    await page.getByLabel("Message").fill("Just one more page.");
    await page.getByTestId("next-step").click();
    await page.getByTestId("slug-input").fill(uniqueSlug("late"));
    await expect(page.getByTestId("slug-status")).toHaveAttribute("data-state", "available");
    await page.getByTestId("create-page").click();
    await expect(page.getByTestId("create-error")).toContainText("Please try again in");
  });
});
