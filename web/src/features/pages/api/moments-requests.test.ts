import { describe, expect, it } from "vitest";

import { lastWritePosition } from "@/lib/write-position";
import { json, mockFetch, sampleLockedPage, samplePage, samplePhoto, sampleSong } from "@/testing/http";

import { isLocked } from "../types/page";
import { deletePhoto } from "./delete-photo";
import { getPage, readPage } from "./get-page";
import { getPhoto } from "./get-photo";
import { updatePage } from "./update-page";
import { uploadPhoto } from "./upload-photo";

const full = { ...samplePage, photo: samplePhoto, song: sampleSong, reveal_at: "2027-02-14T09:00:00Z", has_pin: true };

describe("reading a page", () => {
  it("reads a full page with its photo, song, opening time and PIN flag", async () => {
    mockFetch(() => json(200, full));
    const page = await getPage("AliceAndBob");
    expect(isLocked(page)).toBe(false);
    if (isLocked(page)) return;
    expect(page.photo).toEqual(samplePhoto);
    expect(page.song?.service).toBe("spotify");
    expect(page.has_pin).toBe(true);
    expect(page.locked).toBeNull();
  });

  it("reads a page written before photos and songs as having none", async () => {
    const { photo: _p, song: _s, reveal_at: _r, has_pin: _h, locked: _l, ...old } = samplePage;
    mockFetch(() => json(200, old));
    const page = await getPage("AliceAndBob");
    expect(page).toMatchObject({ photo: null, song: null, reveal_at: null, has_pin: false, locked: null });
  });

  it("reads a locked page as locked, with nothing of what it says", async () => {
    mockFetch(() => json(200, sampleLockedPage("2027-02-14T09:00:00Z", { has_pin: true })));
    const page = await getPage("AliceAndBob");
    expect(isLocked(page)).toBe(true);
    expect(page).not.toHaveProperty("title");
    expect(page).not.toHaveProperty("message");
    expect(page).toMatchObject({ reveal_at: "2027-02-14T09:00:00Z", recipient_name: "Alice" });
  });

  it("refuses a locked page without its opening time, and an unknown lock", async () => {
    const { reveal_at: _r, ...noTime } = sampleLockedPage("2027-02-14T09:00:00Z");
    mockFetch(() => json(200, noTime));
    await expect(getPage("AliceAndBob")).rejects.toMatchObject({ code: "unexpected_response" });
    mockFetch(() => json(200, sampleLockedPage("2027-02-14T09:00:00Z", { locked: "forever" })));
    await expect(getPage("AliceAndBob")).rejects.toMatchObject({ code: "unexpected_response" });
  });

  it("sends the PIN and the edit token, and keeps the server's clock", async () => {
    const { calls } = mockFetch(() => json(200, samplePage, { Date: "Sun, 14 Feb 2027 09:00:00 GMT" }));
    const reading = await readPage("AliceAndBob", { pin: "1402", editToken: "tok" });
    expect(calls[0]?.headers["x-page-pin"]).toBe("1402");
    expect(calls[0]?.headers["x-edit-token"]).toBe("tok");
    expect(reading.serverDate).toBe("Sun, 14 Feb 2027 09:00:00 GMT");
    expect(reading.receivedAt).toBeGreaterThan(0);
    await readPage("AliceAndBob");
    expect(calls[1]?.headers["x-page-pin"]).toBeUndefined();
  });

  it("passes on a PIN refusal and its wait", async () => {
    mockFetch(() => json(401, { detail: "This page needs its PIN", code: "pin_required" }));
    await expect(readPage("AliceAndBob")).rejects.toMatchObject({ status: 401, code: "pin_required" });
    mockFetch(() => json(429, { detail: "Too many", code: "rate_limited" }, { "Retry-After": "90" }));
    await expect(readPage("AliceAndBob", { pin: "0000" })).rejects.toMatchObject({ status: 429, retryAfter: 90 });
  });
});

describe("the photo", () => {
  it("PUT /api/pages/{slug}/photo sends the file's bytes with its type and remembers the write", async () => {
    const { calls, fetchMock } = mockFetch(() => json(200, full, { "Valentine-Position": "77" }));
    const file = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "us.png", { type: "image/png" });
    const page = await uploadPhoto("Alice&Bob", file, "tok");
    expect(calls[0]).toMatchObject({ method: "PUT", url: "/api/pages/Alice%26Bob/photo" });
    expect(calls[0]?.headers["content-type"]).toBe("image/png");
    expect(calls[0]?.headers["x-edit-token"]).toBe("tok");
    expect(fetchMock.mock.calls[0]?.[1]?.body).toBe(file);
    expect(page.photo).toEqual(samplePhoto);
    expect(lastWritePosition()).toBe(77);
  });

  it("passes on the API's refusal with its code", async () => {
    mockFetch(() => json(422, { detail: "Too many pixels", code: "too_many_pixels" }));
    const file = new File([new Uint8Array([1])], "big.png", { type: "image/png" });
    await expect(uploadPhoto("AliceAndBob", file, "tok")).rejects.toMatchObject({ code: "too_many_pixels" });
  });

  it("DELETE /api/pages/{slug}/photo with the token", async () => {
    const { calls } = mockFetch(() => json(200, samplePage));
    const page = await deletePhoto("AliceAndBob", "tok");
    expect(calls[0]).toMatchObject({ method: "DELETE", url: "/api/pages/AliceAndBob/photo" });
    expect(calls[0]?.headers["x-edit-token"]).toBe("tok");
    expect(page.photo).toBeNull();
  });

  it("fetches the photo with the PIN, as a blob", async () => {
    const { calls } = mockFetch(() => new Response("jpeg", { status: 200, headers: { "Content-Type": "image/jpeg" } }));
    const blob = await getPhoto(samplePhoto.url, { pin: "1402" });
    expect(calls[0]?.url).toBe(samplePhoto.url);
    expect(calls[0]?.headers["x-page-pin"]).toBe("1402");
    expect(await blob.text()).toBe("jpeg");
  });

  it("says why a photo is not there yet", async () => {
    mockFetch(() => json(403, { detail: "Not yet", code: "not_revealed" }));
    await expect(getPhoto(samplePhoto.url)).rejects.toMatchObject({ status: 403 });
  });
});

describe("changing the moments", () => {
  it("PATCH sets and removes the song, the opening time and the PIN", async () => {
    const { calls } = mockFetch(() => json(200, samplePage));
    await updatePage("AliceAndBob", { song_url: sampleSong.url, reveal_at: "2027-02-14T10:00:00+01:00" }, "tok");
    await updatePage("AliceAndBob", { song_url: null, reveal_at: null, pin: null }, "tok");
    await updatePage("AliceAndBob", { pin: "new pin" }, "tok");
    expect(calls.map((c) => c.body)).toEqual([
      { song_url: sampleSong.url, reveal_at: "2027-02-14T10:00:00+01:00" },
      { song_url: null, reveal_at: null, pin: null },
      { pin: "new pin" },
    ]);
  });

  it("passes on a change of an opening time that has passed", async () => {
    mockFetch(() => json(409, { detail: "The page has opened", code: "already_revealed" }));
    await expect(updatePage("AliceAndBob", { reveal_at: null }, "tok")).rejects.toMatchObject({
      status: 409,
      code: "already_revealed",
    });
  });
});
