import { expect, test, type APIRequestContext, type Page } from "@playwright/test";

import { createPage, MESSAGE, screenshot } from "./support";

/** Creates a page in `template` and opens it as its visitor would. */
async function visitNewPage(page: Page, request: APIRequestContext, template: string): Promise<void> {
  const { slug } = await createPage(request, template);
  await page.goto(`/${slug}`);
}

for (const template of ["classic", "modern", "playful", "elegant"]) {
  test(`the ${template} design shows the page at once`, async ({ page, request }) => {
    await visitNewPage(page, request, template);
    await expect(page.getByTestId("page-design")).toHaveAttribute("data-template", template);
    await expect(page.getByTestId("page-title")).toHaveText(`A ${template} page`);
    await expect(page.getByTestId("revealed-message")).toHaveText(MESSAGE);
    await screenshot(page, `template-${template}`);
  });
}

test("proposal: No dodges the pointer, Yes grows, and Yes ends in a celebration", async ({ page, request }) => {
  await visitNewPage(page, request, "proposal");
  const no = page.getByTestId("proposal-no");
  const yes = page.getByTestId("proposal-yes");
  await expect(page.getByTestId("revealed-message")).toHaveCount(0);
  const before = await yes.boundingBox();
  for (let dodge = 1; dodge <= 3; dodge += 1) {
    // Point at "No" where it is now; it may still be gliding away from the last try, and it
    // ignores pointers for a moment after each dodge, so try until it dodges once more.
    await expect(async () => {
      await page.mouse.move(5, 5);
      const box = await no.boundingBox();
      if (box) await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await expect(no).toHaveAttribute("data-dodges", String(dodge), { timeout: 500 });
    }).toPass({ timeout: 10_000 });
  }
  await page.mouse.move(5, 5);
  const after = await yes.boundingBox();
  expect(after?.width ?? 0).toBeGreaterThan(before?.width ?? 0);
  await screenshot(page, "template-proposal-question");
  await yes.click();
  await expect(page.getByTestId("proposal-celebration")).toBeVisible();
  await expect(page.getByTestId("revealed-message")).toHaveText(MESSAGE);
  await screenshot(page, "template-proposal");
});

test("envelope: the letter shows once the envelope is opened", async ({ page, request }) => {
  await visitNewPage(page, request, "envelope");
  await expect(page.getByTestId("revealed-message")).toHaveCount(0);
  await screenshot(page, "template-envelope-closed");
  await page.getByTestId("envelope-open").click();
  await expect(page.getByTestId("revealed-message")).toHaveText(MESSAGE);
  await screenshot(page, "template-envelope");
});

test("scratch: scratching the card with the mouse reveals the message", async ({ page, request }) => {
  await visitNewPage(page, request, "scratch");
  const canvas = page.getByTestId("scratch-canvas");
  await expect(page.getByTestId("hidden-message")).toBeAttached();
  const box = await canvas.boundingBox();
  expect(box).not.toBeNull();
  if (!box) return;
  // Scratch back and forth across the whole card until it gives way.
  for (let row = 0; row < 14 && (await page.getByTestId("revealed-message").count()) === 0; row += 1) {
    const y = box.y + ((row + 0.5) * box.height) / 14;
    await page.mouse.move(box.x + 2, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 2, y, { steps: 12 });
    await page.mouse.up();
  }
  await expect(page.getByTestId("revealed-message")).toHaveText(MESSAGE);
  await screenshot(page, "template-scratch");
});

test("countdown: counts down from ten and reveals the message, or skips ahead", async ({ page, request }) => {
  await visitNewPage(page, request, "countdown");
  const number = page.getByTestId("countdown-number");
  await expect(number).toHaveText("10");
  // The count follows the clock, so a busy machine may show 8 before anyone sees 9.
  await expect(number).toHaveText(/^[1-9]$/, { timeout: 3_000 });
  await screenshot(page, "template-countdown-running");
  // Left alone, it reveals by itself after ten seconds.
  await expect(page.getByTestId("revealed-message")).toHaveText(MESSAGE, { timeout: 15_000 });
  await screenshot(page, "template-countdown");

  await page.reload();
  await expect(number).toBeVisible();
  await page.getByTestId("countdown-skip").click();
  await expect(page.getByTestId("revealed-message")).toHaveText(MESSAGE);
});

test("an unknown page gets a friendly 404 that offers to create it", async ({ page }) => {
  const response = await page.goto("/no-such-page-here");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("page-not-found")).toBeVisible();
  await page.getByTestId("create-here").click();
  await expect(page.getByTestId("creator")).toBeVisible();
});
