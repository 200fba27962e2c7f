import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { recallPin, rememberPin } from "@/features/pages/utils/page-pin";
import { json, mockFetch, sampleLockedPage, samplePage, samplePhoto, sampleSong, type Call } from "@/testing/http";
import { renderAt } from "@/testing/render";

const PIN = "1402";
const pinRequired = () => json(401, { detail: "This page needs its PIN", code: "pin_required" });

/** A page behind `PIN`; `page` is what the right PIN reads. */
function pinApi(page: () => Response) {
  return mockFetch((call: Call) => {
    if (call.url.startsWith("/api/pages/AliceAndBob/photo")) return new Response("img", { status: 200 });
    if (call.headers["x-page-pin"] !== PIN) return pinRequired();
    return page();
  });
}

describe("a page with a PIN", () => {
  it("asks for it, says when it is wrong, and remembers the right one for this tab", async () => {
    const { calls } = pinApi(() => json(200, { ...samplePage, template_id: "classic", has_pin: true }));
    renderAt("/AliceAndBob");
    expect(await screen.findByTestId("pin-prompt")).toBeTruthy();
    expect(document.body.textContent).not.toContain(samplePage.title);

    fireEvent.change(screen.getByTestId("pin-input"), { target: { value: "0000" } });
    fireEvent.click(screen.getByTestId("pin-submit"));
    await waitFor(() => expect(screen.getByTestId("pin-problem").textContent).toContain("isn't right"));
    expect(recallPin("AliceAndBob")).toBeNull();
    // A wrong PIN is cleared for the next try (an effect after the answer renders): typing
    // before that would be cleared too.
    await waitFor(() => expect((screen.getByTestId("pin-input") as HTMLInputElement).value).toBe(""));

    fireEvent.change(screen.getByTestId("pin-input"), { target: { value: PIN } });
    fireEvent.click(screen.getByTestId("pin-submit"));
    await waitFor(() => expect(calls).toHaveLength(3));
    expect(await screen.findByTestId("revealed-message")).toBeTruthy();
    expect(recallPin("AliceAndBob")).toBe(PIN);
    expect(calls.map((c) => c.headers["x-page-pin"])).toEqual([undefined, "0000", PIN]);
  });

  it("does not ask again after a reload", async () => {
    rememberPin("AliceAndBob", PIN);
    pinApi(() => json(200, { ...samplePage, template_id: "classic", has_pin: true }));
    renderAt("/AliceAndBob");
    expect(await screen.findByTestId("revealed-message")).toBeTruthy();
    expect(screen.queryByTestId("pin-prompt")).toBeNull();
  });

  it("asks calmly for a pause after too many tries", async () => {
    mockFetch((call) =>
      call.headers["x-page-pin"]
        ? json(429, { detail: "Too many", code: "rate_limited" }, { "Retry-After": "120" })
        : pinRequired(),
    );
    renderAt("/AliceAndBob");
    fireEvent.change(await screen.findByTestId("pin-input"), { target: { value: "9999" } });
    fireEvent.click(screen.getByTestId("pin-submit"));
    await waitFor(() => expect(screen.getByTestId("pin-problem").textContent).toMatch(/try again in 2 minutes/));
  });
});

describe("a page that opens later", () => {
  it("counts down on the server's clock, then opens without a reload, retrying while still locked", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const local = Date.now();
    // The server is 30 s ahead of this browser; the page opens 10 s from the server's now.
    const serverNow = local + 30_000;
    const revealAt = new Date(serverNow + 10_000).toISOString();
    const date = new Date(serverNow).toUTCString();
    const answers = [
      json(200, sampleLockedPage(revealAt, { template_id: "countdown" }), { Date: date }),
      json(200, sampleLockedPage(revealAt, { template_id: "countdown" }), { Date: date }),
      json(200, { ...samplePage, template_id: "countdown", photo: samplePhoto, song: sampleSong, reveal_at: revealAt }),
    ];
    const { calls } = mockFetch((call) =>
      call.url.includes("/photo") ? new Response("img", { status: 200 }) : answers.shift()!,
    );
    renderAt("/AliceAndBob");
    expect(await screen.findByTestId("waiting-design")).toBeTruthy();
    expect(screen.getByTestId("waiting-design").dataset.template).toBe("countdown");
    expect(document.body.textContent).not.toContain(samplePage.message);
    // 10 s away on the server's clock (not 40 s as the browser's would say).
    expect(Number(screen.getByTestId("countdown-number").textContent?.split(":")[1])).toBeLessThanOrEqual(11);

    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_500);
    });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1_500);
    });
    expect(await screen.findByTestId("revealed-message")).toBeTruthy();
    expect(screen.getByTestId("song-card")).toBeTruthy();
    expect(screen.getByTestId("page-photo")).toBeTruthy();
    expect(calls.filter((c) => c.url === "/api/pages/AliceAndBob")).toHaveLength(3);
  });

  it("waits in a calm card in the other designs", async () => {
    const revealAt = new Date(Date.now() + 3 * 86_400_000).toISOString();
    mockFetch(() => json(200, sampleLockedPage(revealAt, { template_id: "elegant" })));
    renderAt("/AliceAndBob");
    expect(await screen.findByTestId("waiting-design")).toBeTruthy();
    expect(screen.getByTestId("opens-on").textContent).toMatch(/^Opens on /);
    expect(screen.getByTestId("countdown-number").textContent).toMatch(/^[23]d /);
  });
});

describe("the song", () => {
  it("puts the player in the page only on a tap", async () => {
    mockFetch(() => json(200, { ...samplePage, template_id: "classic", song: sampleSong }));
    renderAt("/AliceAndBob");
    expect(await screen.findByTestId("song-card")).toBeTruthy();
    expect(document.querySelector("iframe")).toBeNull();
    expect(screen.getByTestId("open-song").getAttribute("href")).toBe(sampleSong.url);
    fireEvent.click(screen.getByTestId("play-song"));
    const frame = screen.getByTestId("song-player");
    expect(frame.getAttribute("src")).toBe(sampleSong.embed_url);
    expect(frame.getAttribute("allow")).toBe("encrypted-media");
    expect(frame.getAttribute("sandbox")).toContain("allow-scripts");
    expect(frame.getAttribute("loading")).toBe("lazy");
  });

  it("never frames a player from anywhere else", async () => {
    mockFetch(() =>
      json(200, {
        ...samplePage,
        template_id: "classic",
        song: { ...sampleSong, embed_url: "https://evil.example/embed" },
      }),
    );
    renderAt("/AliceAndBob");
    fireEvent.click(await screen.findByTestId("play-song"));
    expect(document.querySelector("iframe")).toBeNull();
  });
});
