import { expect, type APIRequestContext, type Page } from "@playwright/test";

/** Screenshots kept as artifacts of the run (git-ignored); `just screenshots` copies them to docs/. */
const SCREENSHOTS = "test-results/screenshots";

/** The message of every page the tests create. */
export const MESSAGE = "Every day with you is my favourite day.";

/** A client address of its own, so each test has its own rate-limit bucket. */
export function clientAddress(): string {
  const octet = () => Math.floor(Math.random() * 254) + 1;
  return `10.${octet()}.${octet()}.${octet()}`;
}

/** A slug no other test uses. */
export function uniqueSlug(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface Created {
  slug: string;
  token: string;
}

/** Creates a page through the API, as the given client. */
export async function createPage(
  request: APIRequestContext,
  template: string,
  client = clientAddress(),
  slug = uniqueSlug(template),
): Promise<Created> {
  const response = await request.post("/api/pages", {
    headers: { "x-forwarded-for": client },
    data: {
      slug,
      title: `A ${template} page`,
      message: MESSAGE,
      sender_name: "Sam",
      recipient_name: "Alex",
      template_id: template,
    },
  });
  expect(response.status(), await response.text()).toBe(201);
  const body = (await response.json()) as { edit_token: string };
  return { slug, token: body.edit_token };
}

/** Waits until no animation frame has moved anything for a moment, then keeps a steady screenshot as `name`.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.evaluate(
    () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
  );
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png` });
}
