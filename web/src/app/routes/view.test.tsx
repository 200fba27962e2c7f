import { screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { json, mockFetch, samplePage } from "@/testing/http";
import { renderAt } from "@/testing/render";

describe("the viewer at /:slug", () => {
  it("shows the page in its design", async () => {
    const { calls } = mockFetch(() => json(200, { ...samplePage, template_id: "elegant" }));
    renderAt("/aliceandbob");
    expect(await screen.findByTestId("revealed-message")).toBeTruthy();
    expect(screen.getByTestId("page-design").dataset.template).toBe("elegant");
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe(samplePage.title);
    expect(calls.map((c) => c.url)).toEqual(["/api/pages/aliceandbob"]);
    // The title is set by an effect after the page renders.
    await waitFor(() => expect(document.title).toContain(samplePage.title));
  });

  it("says kindly that nothing lives at an unknown address, and offers to create it", async () => {
    mockFetch(() => json(404, { detail: "Page not found", code: "not_found" }));
    renderAt("/nobody-here");
    expect(await screen.findByTestId("page-not-found")).toBeTruthy();
    expect(screen.getByTestId("create-here").getAttribute("href")).toBe("/?slug=nobody-here");
  });

  it("does not even ask about an address that cannot be a slug", async () => {
    const { calls } = mockFetch(() => json(200, samplePage));
    renderAt("/no%20way");
    expect(await screen.findByTestId("page-not-found")).toBeTruthy();
    expect(calls).toHaveLength(0);
  });

  it("offers a retry when the API is unreachable", async () => {
    mockFetch(() => json(503, { detail: "The service is busy", code: "unavailable" }, { "Retry-After": "1" }));
    renderAt("/aliceandbob");
    expect(await screen.findByText("The service is busy")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Try again" })).toBeTruthy();
  });

  it("sends unknown deeper paths to the not-found screen", async () => {
    renderAt("/a/b/c");
    expect(await screen.findByTestId("not-found")).toBeTruthy();
  });
});
