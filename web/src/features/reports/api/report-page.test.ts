import { describe, expect, it } from "vitest";

import { json, mockFetch } from "@/testing/http";

import { reportPage } from "./report-page";

describe("reportPage", () => {
  it("POST /api/pages/{slug}/report with the reason and note", async () => {
    const { calls } = mockFetch(() => json(202, { status: "received" }));
    await reportPage("Alice&Bob", { reason: "personal_info", note: "my address" });
    expect(calls[0]).toMatchObject({
      method: "POST",
      url: "/api/pages/Alice%26Bob/report",
      body: { reason: "personal_info", note: "my address" },
    });
  });

  it("passes on a refusal", async () => {
    mockFetch(() => json(451, { detail: "Taken down", code: "taken_down" }));
    await expect(reportPage("AliceAndBob", { reason: "spam" })).rejects.toMatchObject({
      status: 451,
      code: "taken_down",
    });
  });
});
