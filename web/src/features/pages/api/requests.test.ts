import { describe, expect, it } from "vitest";

import { json, mockFetch, sampleHistory, samplePage } from "@/testing/http";

import { deletePage } from "./delete-page";
import { getPage } from "./get-page";
import { getPageHistory } from "./get-page-history";
import { getPageForAuthor, updatePage } from "./update-page";

describe("one function per endpoint", () => {
  it("GET /api/pages/{slug}", async () => {
    const { calls } = mockFetch(() => json(200, { ...samplePage, sender_name: null, recipient_name: undefined }));
    const page = await getPage("Alice&Bob");
    expect(calls[0]).toMatchObject({ method: "GET", url: "/api/pages/Alice%26Bob" });
    expect(page.sender_name).toBeNull();
    expect(page.recipient_name).toBeNull();
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
});
