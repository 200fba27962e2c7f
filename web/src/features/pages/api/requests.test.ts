import { describe, expect, it } from "vitest";

import { rememberWritePosition } from "@/lib/write-position";
import { json, mockFetch, sampleExport, sampleHistory, samplePage } from "@/testing/http";

import { deletePage } from "./delete-page";
import { exportPage } from "./export-page";
import { getPage } from "./get-page";
import { getPageHistory } from "./get-page-history";
import { restorePage } from "./restore-page";
import { unsubscribe } from "./unsubscribe";
import { getPageForAuthor, updatePage } from "./update-page";

describe("one function per endpoint", () => {
  it("GET /api/pages/{slug}", async () => {
    const { calls } = mockFetch(() => json(200, { ...samplePage, sender_name: null, recipient_name: undefined }));
    const page = await getPage("Alice&Bob");
    expect(calls[0]).toMatchObject({ method: "GET", url: "/api/pages/Alice%26Bob" });
    expect(page.sender_name).toBeNull();
    expect(page.recipient_name).toBeNull();
  });

  it("GET /api/pages/{slug} with the edit token this browser holds", async () => {
    const { calls } = mockFetch(() => json(200, samplePage));
    await getPage("AliceAndBob", { editToken: "tok" });
    expect(calls[0]?.headers["x-edit-token"]).toBe("tok");
    await getPage("AliceAndBob", { editToken: null });
    expect(calls[1]?.headers["x-edit-token"]).toBeUndefined();
  });

  it("PATCH /api/pages/{slug} sets and removes the notification address", async () => {
    const { calls } = mockFetch(() => json(200, samplePage));
    await updatePage("AliceAndBob", { notify_email: "a@example.com" }, "tok");
    await updatePage("AliceAndBob", { notify_email: null }, "tok");
    expect(calls.map((c) => c.body)).toEqual([{ notify_email: "a@example.com" }, { notify_email: null }]);
  });

  it("POST /api/pages/{slug}/unsubscribe with the mail's token in the query", async () => {
    const { calls } = mockFetch(() => json(200, { message: "You won't get more e-mails about this page" }));
    await expect(unsubscribe("Alice&Bob", "a+b/c")).resolves.toBe("You won't get more e-mails about this page");
    expect(calls[0]).toMatchObject({ method: "POST", url: "/api/pages/Alice%26Bob/unsubscribe?token=a%2Bb%2Fc" });
    expect(calls[0]?.body).toBeUndefined();
  });

  it("PATCH /api/pages/{slug} with X-Edit-Token", async () => {
    const { calls } = mockFetch(() => json(200, samplePage));
    await updatePage("AliceAndBob", { title: "New", sender_name: null }, "tok");
    expect(calls[0]).toMatchObject({
      method: "PATCH",
      url: "/api/pages/AliceAndBob",
      body: { title: "New", sender_name: null },
    });
    expect(calls[0]?.headers["x-edit-token"]).toBe("tok");
  });

  it("reads the page for its author with an empty PATCH", async () => {
    const { calls } = mockFetch(() => json(200, samplePage));
    await getPageForAuthor("AliceAndBob", "tok");
    expect(calls[0]).toMatchObject({ method: "PATCH", body: {}, headers: { "x-edit-token": "tok" } });
  });

  it("DELETE /api/pages/{slug} with X-Edit-Token", async () => {
    const { calls } = mockFetch(() => json(200, { message: "Page deleted successfully" }));
    await expect(deletePage("AliceAndBob", "tok")).resolves.toBe("Page deleted successfully");
    expect(calls[0]).toMatchObject({
      method: "DELETE",
      url: "/api/pages/AliceAndBob",
      headers: { "x-edit-token": "tok" },
    });
  });

  it("GET /api/pages/{slug}/history with X-Edit-Token", async () => {
    const { calls } = mockFetch(() => json(200, sampleHistory));
    const history = await getPageHistory("AliceAndBob", "tok");
    expect(calls[0]).toMatchObject({ url: "/api/pages/AliceAndBob/history", headers: { "x-edit-token": "tok" } });
    expect(history.events[0]?.event_type).toBe("PageCreated");
  });

  it("GET /api/pages/{slug}/export with X-Edit-Token and the latest write position", async () => {
    rememberWritePosition("41");
    const updated = {
      sequence: 2,
      stream_sequence: 7,
      event_type: "PageUpdated",
      event_version: "1.0",
      occurred_at: "2026-11-26T09:00:00Z",
      command_id: "01JKZ3V6C4QG2T8X5N1M7B9R0E",
      data: { title: "New", sender_name: null },
    };
    const { calls } = mockFetch(() =>
      json(200, { ...sampleExport, events: [...sampleExport.events, updated], format: 1 }),
    );
    const exported = await exportPage("Alice&Bob", "tok");
    expect(calls[0]).toMatchObject({
      method: "GET",
      url: "/api/pages/Alice%26Bob/export",
      headers: { "x-edit-token": "tok", "valentine-min-position": "41" },
    });
    expect(exported.slug).toBe("AliceAndBob");
    expect(exported.page).toEqual(samplePage);
    expect(exported.events.map((e) => e.event_type)).toEqual(["PageCreated", "PageUpdated"]);
    expect(exported.events[0]?.data).toEqual(sampleExport.events[0]?.data);
    expect(exported.events[1]?.data).toEqual({ title: "New", sender_name: null });
    // Kept for the author's file as the API sent it, fields this app does not know included.
    expect(exported).toMatchObject({ format: 1 });
  });

  it("refuses an export of the wrong shape", async () => {
    mockFetch(() => json(200, { ...sampleExport, events: [{ sequence: 1, event_type: "PageCreated" }] }));
    await expect(exportPage("AliceAndBob", "tok")).rejects.toMatchObject({ code: "unexpected_response" });
  });

  it("passes on the API's refusal of an export", async () => {
    mockFetch(() => json(403, { detail: "Wrong edit token", code: "wrong_token" }));
    await expect(exportPage("AliceAndBob", "nope")).rejects.toMatchObject({ status: 403, code: "wrong_token" });
  });

  it("reads each history event's changes, and none from an older server", async () => {
    const changed = {
      ...sampleHistory.events[0]!,
      sequence: 2,
      event_type: "PageTakenDown",
      changes: [{ field: "taken_down", before: null, after: "Spam links" }],
    };
    mockFetch(() => json(200, { ...sampleHistory, events: [sampleHistory.events[0], changed] }));
    const history = await getPageHistory("AliceAndBob", "tok");
    expect(history.events[0]?.changes).toEqual([]);
    expect(history.events[1]?.changes).toEqual([{ field: "taken_down", before: null, after: "Spam links" }]);
  });

  it("POST /api/pages/{slug}/restore with X-Edit-Token and the event's stream sequence", async () => {
    const { calls } = mockFetch(() =>
      json(200, { ...samplePage, taken_down: { at: "2026-12-01T10:00:00Z", reason: "Spam" } }),
    );
    const page = await restorePage("Alice&Bob", 7, "tok");
    expect(calls[0]).toMatchObject({
      method: "POST",
      url: "/api/pages/Alice%26Bob/restore",
      body: { stream_sequence: 7 },
      headers: { "x-edit-token": "tok" },
    });
    expect(page.taken_down).toEqual({ at: "2026-12-01T10:00:00Z", reason: "Spam" });
  });
});
