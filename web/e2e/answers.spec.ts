import { expect, test, type Page } from "@playwright/test";

import { MAILDIR, mailCount, mailsAbout } from "./maildir";
import { clientAddress, MESSAGE, uniqueSlug } from "./support";

/** Makes "No" run away once more, pointing at it until it moves (it ignores pointers briefly after each dodge). */
async function dodgeOnce(page: Page, dodges: number): Promise<void> {
  const no = page.getByTestId("proposal-no");
  await expect(async () => {
    await page.mouse.move(5, 5);
    const box = await no.boundingBox();
    if (box) await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await expect(no).toHaveAttribute("data-dodges", String(dodges), { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await page.mouse.move(5, 5);
}

test("the author watches the page being opened and answered, live, and gets one mail for each", async ({
  browser,
  request,
}) => {
  // Two browsers, a game of catch with "No", and up to 18 s of waiting for mail.
  test.setTimeout(90_000);
  const authorAddress = clientAddress();
  const slug = uniqueSlug("replied");
  const notifyEmail = `author+${slug}@example.com`;

  // The author makes a proposal and asks for mails.
  const created = await request.post("/api/pages", {
    headers: { "x-forwarded-for": authorAddress },
    data: {
      slug,
      title: "Will you be my Valentine?",
      message: MESSAGE,
      sender_name: "Sam",
      recipient_name: "Alex",
      template_id: "proposal",
      notify_email: notifyEmail,
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const { edit_token: token } = (await created.json()) as { edit_token: string };

  // Two browsers that share nothing: the author's and the recipient's.
  const authorContext = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": authorAddress } });
  const recipientContext = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": clientAddress() } });
  try {
    const author = await authorContext.newPage();
    await author.goto(`/${slug}/edit#token=${token}`);
    await expect(author.getByTestId("editor")).toBeVisible();
    await expect(author.getByTestId("insights-opened")).toContainText("Not opened yet");
    await expect(author.getByTestId("insights-answer")).toContainText("No answer yet");
    await expect(author.getByTestId("insights-link")).toHaveAttribute("data-link", "live");
    await expect(author.getByLabel(/E-mail for notifications/)).toHaveValue(notifyEmail);
    // Anything that reloads the editor would drop this.
    await author.evaluate(() => Object.assign(window, { stayedOpen: true }));

    // The recipient opens the page: the author sees it within 2 seconds.
    const recipient = await recipientContext.newPage();
    const read = recipient.waitForResponse(
      (r) => r.url().endsWith(`/api/pages/${slug}`) && r.request().method() === "GET",
    );
    await recipient.goto(`/${slug}`);
    expect((await read).status()).toBe(200);
    await expect(author.getByTestId("insights-opened").getByText(/First opened/)).toBeVisible({ timeout: 2_000 });
    await expect(author.getByTestId("insights-opened")).toHaveAttribute("data-state", "opened");

    // "No" runs away twice, then Yes.
    await expect(recipient.getByTestId("proposal-yes")).toBeVisible();
    await dodgeOnce(recipient, 1);
    await dodgeOnce(recipient, 2);
    const answered = recipient.waitForResponse(
      (r) => r.url().endsWith(`/api/pages/${slug}/answer`) && r.request().method() === "POST",
    );
    await recipient.getByTestId("proposal-yes").click();
    await expect(author.getByText('Said yes after "No" ran away twice')).toBeVisible({ timeout: 2_000 });
    await expect(recipient.getByTestId("proposal-celebration")).toBeVisible();
    const answer = await answered;
    expect(answer.status()).toBe(201);
    expect(answer.request().postDataJSON()).toEqual({ answer: "yes", dodges: 2 });
    await expect(recipient.getByTestId("answer-sent")).toBeVisible();
    await expect(author.getByTestId("insights-answer")).toHaveAttribute("data-state", "answered");
    expect(await author.evaluate(() => (window as Window & { stayedOpen?: boolean }).stayedOpen)).toBe(true);

    // Back on the page later: answered, not asked again.
    await recipient.reload();
    await expect(recipient.getByTestId("proposal-celebration")).toBeVisible();
    await expect(recipient.getByTestId("proposal-yes")).toHaveCount(0);
    await expect(recipient.getByTestId("revealed-message")).toHaveText(MESSAGE);
  } finally {
    await authorContext.close();
    await recipientContext.close();
  }

  // One mail about the first open and one about the answer, though two notifiers run.
  expect(MAILDIR, "E2E_MAILDIR must name the Maildir the end-to-end mail server delivers to").toBeTruthy();
  await expect
    .poll(() => mailCount(slug), { timeout: 15_000, message: `mails about /${slug} in ${MAILDIR}/new` })
    .toEqual({ opened: 1, answered: 1 });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(await mailCount(slug)).toEqual({ opened: 1, answered: 1 });
  for (const mail of await mailsAbout(slug)) {
    expect(mail.headers.get("list-unsubscribe")?.length ?? 0, `List-Unsubscribe in ${mail.file}`).toBeGreaterThan(0);
  }
});
