import { crc32, deflateSync } from "node:zlib";

import { expect, test, type Page } from "@playwright/test";

import { clientAddress, screenshot, uniqueSlug } from "./support";

/** A PNG made here: `size`×`size` pixels, a soft gradient from `colour`. */
function png(size: number, [r, g, b]: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB
  const shade = (base: number, by: number) => Math.min(255, base + Math.round((by * 120) / size));
  const row = (y: number) =>
    Buffer.concat([
      Buffer.from([0]),
      Buffer.from(Array.from({ length: size }, (_, x) => [shade(r, y / 3), shade(g, x), shade(b, y)]).flat()),
    ]);
  const pixels = Buffer.concat(Array.from({ length: size }, (_, y) => row(y)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(pixels)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** The browser's local time `ms` from now, as a `datetime-local` input takes it (with seconds). */
async function localTimeFromNow(page: Page, ms: number): Promise<string> {
  return page.evaluate((ahead) => {
    const d = new Date(Date.now() + ahead);
    // A whole minute would read back without its seconds, which `fill` takes for a malformed value.
    if (d.getSeconds() === 0) d.setSeconds(1);
    const two = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  }, ms);
}

const SONG = "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC";

/**
 * How far ahead the page opens. The author's last steps (the address, the upload, the share
 * kit) and the visitor's PIN round trips come first, on two shared cores that may run at a
 * third of their speed; the "before" checks must not race the opening. The wait for it is
 * on a condition.
 */
const OPENS_IN_MS = 30_000;

test.describe("pages people want to send", () => {
  test.use({ extraHTTPHeaders: { "x-forwarded-for": clientAddress() } });

  test("a photo, a song, an opening time and a PIN: nothing leaves the server before its time", async ({
    page,
    browser,
    request,
    playwright,
  }) => {
    test.setTimeout(120_000);
    const slug = uniqueSlug("moment");
    const pin = `rose-${Math.random().toString(36).slice(2, 8)}`;
    const message = `Meet me under the old oak at noon (${slug})`;

    // The author makes a countdown page with every extra.
    await page.goto("/");
    await page.getByTestId("template-option-countdown").click();
    await page.getByTestId("next-step").click();
    await expect(page.getByTestId("step-2")).toBeVisible();
    await page.getByLabel("Title").fill("Something for you");
    await page.getByLabel("Message").fill(message);
    await page.getByLabel("From").fill("Sam");
    await page.getByLabel("To").fill("Alex");
    await page.getByTestId("make-it-special-toggle").click();
    await page.getByTestId("photo-input").setInputFiles({
      name: "us.png",
      mimeType: "image/png",
      buffer: png(360, [233, 30, 99]),
    });
    await expect(page.getByTestId("photo-thumb")).toBeVisible();
    await page.getByTestId("song-input").fill(SONG);
    await expect(page.getByTestId("song-service")).toContainText("Spotify");
    await page.getByTestId("pin-new").fill(pin);
    await page.getByTestId("reveal-input").fill(await localTimeFromNow(page, OPENS_IN_MS));
    await page.getByTestId("next-step").click();

    await expect(page.getByTestId("step-3")).toBeVisible();
    await page.getByTestId("slug-input").fill(slug);
    await expect(page.getByTestId("slug-status")).toHaveAttribute("data-state", "available");
    const created = page.waitForResponse((r) => r.url().endsWith("/api/pages") && r.request().method() === "POST");
    await page.getByTestId("create-page").click();
    const sent = (await created).request().postDataJSON() as Record<string, unknown>;
    expect(sent).toMatchObject({ song_url: SONG, pin });
    expect(String(sent.reveal_at)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)$/);

    // The page exists; the photo follows it up, and the share kit is there.
    await expect(page.getByTestId("created")).toBeVisible();
    await expect(page.getByTestId("photo-upload")).toHaveAttribute("data-state", "done", { timeout: 15_000 });
    await expect(page.getByTestId("share-kit")).toBeVisible();
    await expect
      .poll(() => page.getByTestId("share-qr").evaluate((img: HTMLImageElement) => img.naturalWidth))
      .toBeGreaterThan(0);
    await expect(page.getByTestId("download-qr")).toBeEnabled();
    await screenshot(page, "share-kit");

    // The recipient's browser shares nothing with the author's.
    const recipientContext = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": clientAddress() } });
    try {
      const recipient = await recipientContext.newPage();
      await recipient.goto(`/${slug}`);
      await expect(recipient.getByTestId("pin-prompt")).toBeVisible();
      expect(await recipient.content()).not.toContain(message);
      await screenshot(recipient, "moment-pin");

      await recipient.getByTestId("pin-input").fill("not-the-pin");
      await recipient.getByTestId("pin-submit").click();
      await expect(recipient.getByTestId("pin-problem")).toContainText("isn't right");

      await recipient.getByTestId("pin-input").fill(pin);
      await recipient.getByTestId("pin-submit").click();
      await expect(recipient.getByTestId("waiting-design")).toHaveAttribute("data-template", "countdown");
      await expect(recipient.getByTestId("reveal-countdown")).toBeVisible();

      // Before its time the words are nowhere: not in the page, not in its HTML, not in the API's answer.
      expect(await recipient.content()).not.toContain(message);
      const html = await request.get(`/${slug}`);
      expect(html.status()).toBe(200);
      expect(await html.text()).not.toContain(message);
      const locked = await request.get(`/api/pages/${slug}`, { headers: { "X-Page-Pin": pin } });
      expect(locked.status()).toBe(200);
      const lockedText = await locked.text();
      expect(lockedText).not.toContain(message);
      const lockedBody = JSON.parse(lockedText) as Record<string, unknown>;
      expect(lockedBody.locked).toBe("scheduled");
      for (const key of ["title", "message", "photo", "song"]) expect(lockedBody).not.toHaveProperty(key);
      await screenshot(recipient, "moment-countdown");

      // At its time the page opens by itself, without a reload, with its photo and its song.
      await expect(recipient.getByTestId("revealed-message")).toBeVisible({ timeout: OPENS_IN_MS + 10_000 });
      await expect(recipient.getByTestId("revealed-message")).toHaveText(message);
      const photo = recipient.locator('[data-testid="page-photo"] img');
      await expect(photo).toBeVisible({ timeout: 20_000 });
      await expect(photo).toHaveAttribute("alt", /Alex/);
      await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
      await expect(recipient.getByTestId("song-card")).toBeVisible();
      await expect(recipient.getByTestId("open-song")).toHaveAttribute("href", SONG);
      await expect(recipient.getByTestId("song-player")).toHaveCount(0);
      await screenshot(recipient, "moment-revealed");
      // The player comes only on a tap.
      await recipient.getByTestId("play-song").click();
      await expect(recipient.getByTestId("song-player")).toHaveAttribute(
        "src",
        "https://open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC",
      );
      // A reload does not ask for the PIN again in this tab (the countdown design then plays
      // its own count from ten, as for any visitor who comes after the moment).
      await recipient.reload();
      await expect(recipient.getByTestId("page-design")).toHaveAttribute("data-template", "countdown");
      await expect(recipient.getByTestId("pin-prompt")).toHaveCount(0);
    } finally {
      await recipientContext.close();
    }

    // The link's preview picture and its QR code.
    const og = await request.get(`/${slug}/og.png`);
    expect(og.status()).toBe(200);
    expect(og.headers()["content-type"]).toContain("image/png");
    const qr = await request.get(`/api/pages/${slug}/qr.svg`);
    expect(qr.status()).toBe(200);
    expect(qr.headers()["content-type"]).toContain("svg");
    expect(await qr.text()).toContain("<svg");

    // Guessing the PIN is budgeted: wrong guesses from one client end in 429 with Retry-After.
    const guesser = await playwright.request.newContext({
      baseURL: process.env.E2E_BASE_URL,
      extraHTTPHeaders: { "x-forwarded-for": clientAddress() },
    });
    try {
      let limited: { tries: number; retryAfter: string | undefined } | null = null;
      for (let tries = 1; tries <= 30; tries += 1) {
        const guess = await guesser.get(`/api/pages/${slug}`, { headers: { "X-Page-Pin": `wrong-${tries}` } });
        if (guess.status() === 429) {
          limited = { tries, retryAfter: guess.headers()["retry-after"] };
          break;
        }
        expect(guess.status()).toBe(401);
        expect(((await guess.json()) as { code: string }).code).toBe("pin_required");
      }
      expect(limited, "no 429 in 30 wrong guesses").not.toBeNull();
      expect(limited!.retryAfter).toMatch(/^\d+$/);
    } finally {
      await guesser.dispose();
    }
  });

  test("a classic page waits calmly for its time", async ({ page, request }) => {
    const slug = uniqueSlug("later");
    const message = `Not before tomorrow (${slug})`;
    const response = await request.post("/api/pages", {
      data: {
        slug,
        title: "Patience",
        message,
        sender_name: "Sam",
        recipient_name: "Alex",
        template_id: "classic",
        reveal_at: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    expect(response.status(), await response.text()).toBe(201);

    await page.goto(`/${slug}`);
    await expect(page.getByTestId("waiting-design")).toHaveAttribute("data-template", "classic");
    await expect(page.getByTestId("opens-on")).toContainText("Opens on");
    await expect(page.getByTestId("countdown-number")).toHaveText(/^(00|59):\d{2}$|^01:00:00$/);
    expect(await page.content()).not.toContain(message);
    await screenshot(page, "moment-waiting");
  });
  test("the editor adds and removes a photo, a song and a PIN", async ({ page, request }) => {
    const slug = uniqueSlug("edited");
    const created = await request.post("/api/pages", {
      data: { slug, title: "Ours", message: `Edited (${slug})`, template_id: "modern", song_url: SONG },
    });
    expect(created.status(), await created.text()).toBe(201);
    const token = ((await created.json()) as { edit_token: string }).edit_token;
    const asAuthor = async () => {
      const read = await request.get(`/api/pages/${slug}`, { headers: { "X-Edit-Token": token } });
      expect(read.status()).toBe(200);
      return (await read.json()) as { photo: unknown; song: unknown; has_pin: boolean };
    };

    await page.goto(`/${slug}/edit#token=${token}`);
    const editor = page.getByTestId("moments-editor");
    await expect(editor).toBeVisible();

    // A photo, then removed.
    await editor.getByTestId("photo-input").setInputFiles({
      name: "us.png",
      mimeType: "image/png",
      buffer: png(120, [136, 14, 79]),
    });
    await editor.getByTestId("upload-photo").click();
    await expect(editor.getByTestId("remove-photo")).toBeVisible();
    await expect.poll(async () => (await asAuthor()).photo).not.toBeNull();
    await editor.getByTestId("remove-photo").click();
    await expect(editor.getByTestId("remove-photo")).toHaveCount(0);
    await expect.poll(async () => (await asAuthor()).photo).toBeNull();

    // The song removed.
    await editor.getByTestId("remove-song").click();
    await expect.poll(async () => (await asAuthor()).song).toBeNull();

    // A PIN set: a reader without it is refused; then removed again.
    await editor.getByTestId("pin-new").fill("4711");
    await editor.getByTestId("save-pin").click();
    await expect(editor.getByTestId("pin-status")).toContainText("has a PIN");
    expect((await request.get(`/api/pages/${slug}`)).status()).toBe(401);
    await editor.getByTestId("remove-pin").click();
    await expect(editor.getByTestId("pin-status")).toContainText("Anyone with the link");
    expect((await request.get(`/api/pages/${slug}`)).status()).toBe(200);
  });
});
