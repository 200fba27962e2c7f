import { describe, expect, it } from "vitest";

import { json, mockFetch } from "@/testing/http";

import { checkSlug } from "./check-slug";
import { suggestSlugs } from "./suggest-slugs";

describe("slug endpoints", () => {
  it("GET /api/slugs/check/{slug}", async () => {
    const { calls } = mockFetch(() => json(200, { slug: "alice", available: true, reason: null, suggestions: [] }));
    await expect(checkSlug("alice")).resolves.toEqual({
      slug: "alice",
      available: true,
      reason: null,
      suggestions: [],
    });
    expect(calls[0]?.url).toBe("/api/slugs/check/alice");
  });

  it("GET /api/slugs/suggest with a count the API accepts", async () => {
    const { calls } = mockFetch(() => json(200, { suggestions: ["alice-bob-love"] }));
    await suggestSlugs("Alice & Bob", 50);
    await suggestSlugs("x", 0);
    expect(calls.map((c) => c.url)).toEqual([
      "/api/slugs/suggest?base=Alice+%26+Bob&count=10",
      "/api/slugs/suggest?base=x&count=1",
    ]);
  });
});
