import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { rememberToken } from "@/features/pages/utils/edit-token";
import { deferred, json, mockFetch, samplePage, type Call } from "@/testing/http";
import { renderAt } from "@/testing/render";

const ANSWERED_AT = "2026-12-03T20:15:00Z";

/** The API as a visitor meets it: the page, and its answer endpoint as `answer` says. */
function api(page: object, answer: (call: Call) => Response | Promise<Response>) {
  return mockFetch((call) => {
    if (call.url === "/api/pages/AliceAndBob" && call.method === "GET") return json(200, { ...samplePage, ...page });
    if (call.url === "/api/pages/AliceAndBob/answer" && call.method === "POST") return answer(call);
    return json(404, { detail: "Not found", code: "not_found" });
  });
}

const posts = (calls: Call[]) => calls.filter((c) => c.method === "POST");

/** Makes "No" run away `times` times, as far apart as its cooldown asks. */
function dodge(times: number) {
  const no = screen.getByTestId("proposal-no");
  for (let i = 0; i < times; i += 1) {
    vi.setSystemTime(Date.now() + 1000);
    fireEvent.click(no);
  }
  expect(no.dataset.dodges).toBe(String(times));
}

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

describe("the visitor's reply", () => {
  it("sends yes with the dodges, celebrates, and keeps the answer for the next visit", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const answer = deferred<Response>();
    const { calls } = api({ template_id: "proposal" }, () => answer.promise);
    const first = renderAt("/AliceAndBob");
    await screen.findByTestId("proposal-yes");
    dodge(2);
    fireEvent.click(screen.getByTestId("proposal-yes"));

    expect(screen.getByTestId("proposal-celebration")).toBeTruthy();
    expect(screen.getByTestId("proposal-reply").dataset.state).toBe("sending");
    expect(posts(calls)).toHaveLength(1);
    expect(posts(calls)[0]?.body).toEqual({ answer: "yes", dodges: 2 });
    answer.resolve(json(201, { answer: "yes", dodges: 2, answered_at: ANSWERED_AT }, { "Valentine-Position": "9" }));
    expect(await screen.findByTestId("answer-sent")).toBeTruthy();
    first.unmount();

    // Back again: the celebration at once, the question never asked again.
    renderAt("/AliceAndBob");
    expect(await screen.findByTestId("proposal-celebration")).toBeTruthy();
    expect(screen.queryByTestId("proposal-yes")).toBeNull();
    expect(screen.getByTestId("answer-sent")).toBeTruthy();
    expect(posts(calls)).toHaveLength(1);
  });

  it("keeps the celebration through a failure and sends again on request", async () => {
    let attempt = 0;
    const { calls } = api({ template_id: "proposal" }, () => {
      attempt += 1;
      return attempt === 1
        ? json(503, { detail: "The service is busy", code: "unavailable" })
        : json(201, { answer: "yes", dodges: 0, answered_at: ANSWERED_AT });
    });
    renderAt("/AliceAndBob");
    fireEvent.click(await screen.findByTestId("proposal-yes"));
    expect((await screen.findByTestId("reply-error")).textContent).toBe("The service is busy");
    expect(screen.getByTestId("proposal-celebration")).toBeTruthy();

    fireEvent.click(screen.getByTestId("reply-retry"));
    expect(await screen.findByTestId("answer-sent")).toBeTruthy();
    expect(screen.getByTestId("proposal-celebration")).toBeTruthy();
    expect(posts(calls).map((c) => c.body)).toEqual([
      { answer: "yes", dodges: 0 },
      { answer: "yes", dodges: 0 },
    ]);
  });

  it("says gently that someone answered first, and remembers that too", async () => {
    const { calls } = api({ template_id: "proposal" }, () =>
      json(409, { detail: "This page was already answered", code: "already_answered" }),
    );
    const first = renderAt("/AliceAndBob");
    fireEvent.click(await screen.findByTestId("proposal-yes"));
    expect((await screen.findByTestId("answer-already")).textContent).toMatch(/already been answered/);
    expect(screen.queryByTestId("reply-retry")).toBeNull();
    first.unmount();

    renderAt("/AliceAndBob");
    expect(await screen.findByTestId("answer-already")).toBeTruthy();
    expect(posts(calls)).toHaveLength(1);
  });

  it("sends a heart back from another design, once the message is revealed", async () => {
    const { calls } = api({ template_id: "envelope" }, () =>
      json(201, { answer: "heart", dodges: 0, answered_at: ANSWERED_AT }),
    );
    const first = renderAt("/AliceAndBob");
    fireEvent.click(await screen.findByRole("button", { name: "Open the letter" }));
    const send = screen.getByRole("button", { name: /Seal a heart back/ });
    fireEvent.click(send);
    fireEvent.click(send);

    const sent = await screen.findByTestId("heart-sent");
    expect(sent.textContent).toBe("Heart sent ♥");
    expect(sent.closest("[aria-live=polite]")).not.toBeNull();
    expect(screen.queryByTestId("send-heart")).toBeNull();
    expect(posts(calls).map((c) => c.body)).toEqual([{ answer: "heart", dodges: 0 }]);
    first.unmount();

    // On the next visit the letter is open and the heart already sent.
    renderAt("/AliceAndBob");
    expect((await screen.findByTestId("heart-sent")).textContent).toBe("Heart sent ♥");
    expect(screen.getByTestId("revealed-message")).toBeTruthy();
  });

  it("offers the heart on a static card at once, with a retry after no answer", async () => {
    let attempt = 0;
    api({ template_id: "classic" }, () => {
      attempt += 1;
      if (attempt === 1) throw new TypeError("Failed to fetch");
      return json(201, { answer: "heart", dodges: 0, answered_at: ANSWERED_AT });
    });
    renderAt("/AliceAndBob");
    fireEvent.click(await screen.findByRole("button", { name: /Send a heart back/ }));
    expect((await screen.findByTestId("reply-error")).textContent).toMatch(/couldn't reach Valentine/);
    fireEvent.click(screen.getByRole("button", { name: /Try again/ }));
    expect(await screen.findByTestId("heart-sent")).toBeTruthy();
  });

  it("does not offer a retry the API would refuse again", async () => {
    api({ template_id: "modern" }, () => json(422, { detail: "This page takes a heart", code: "invalid" }));
    renderAt("/AliceAndBob");
    fireEvent.click(await screen.findByRole("button", { name: /Send a heart back/ }));
    expect((await screen.findByTestId("reply-error")).textContent).toBe("This page takes a heart");
    expect(screen.queryByTestId("send-heart")).toBeNull();
  });

  it("remembers answers per page, not per address: a new page at the same slug asks again", async () => {
    window.localStorage.setItem(
      "valentine:answer:aliceandbob:1",
      JSON.stringify({ answer: "yes", dodges: 0, answered_at: ANSWERED_AT, already: false }),
    );
    api({ template_id: "proposal", id: 2 }, () => json(500, { detail: "nope" }));
    renderAt("/AliceAndBob");
    expect(await screen.findByTestId("proposal-yes")).toBeTruthy();
  });

  it("lets the author look without being counted as the first open or sending a reply", async () => {
    rememberToken("AliceAndBob", "tok_author");
    const { calls } = api({ template_id: "proposal" }, () => json(201, {}));
    renderAt("/AliceAndBob");
    fireEvent.click(await screen.findByTestId("proposal-yes"));
    expect(screen.getByTestId("proposal-celebration")).toBeTruthy();
    expect(screen.getByTestId("proposal-reply").textContent).toMatch(/your own page/);
    expect(calls[0]?.headers["x-edit-token"]).toBe("tok_author");
    expect(posts(calls)).toHaveLength(0);
  });

  it("sends no edit token when this browser has none", async () => {
    const { calls } = api({ template_id: "classic" }, () => json(500, {}));
    renderAt("/AliceAndBob");
    await screen.findByTestId("send-heart");
    expect(calls[0]?.headers["x-edit-token"]).toBeUndefined();
  });

  it("shows a calm screen, and nothing of the page, when its moderators took it down", async () => {
    mockFetch(() => json(451, { detail: "This page was taken down by its moderators", code: "taken_down" }));
    renderAt("/AliceAndBob");
    const screenDown = await screen.findByTestId("page-taken-down");
    expect(screenDown.textContent).toContain("This page was taken down by its moderators");
    expect(screen.queryByTestId("page-design")).toBeNull();
    expect(screen.queryByTestId("report-page")).toBeNull();
  });

  it("offers a discreet report link that opens the report dialog", async () => {
    const { calls } = mockFetch((call) => {
      if (call.url === "/api/pages/AliceAndBob/report") return json(202, { status: "received" });
      return json(200, { ...samplePage, template_id: "classic" });
    });
    renderAt("/AliceAndBob");
    fireEvent.click(await screen.findByTestId("report-page"));
    fireEvent.click(screen.getByLabelText("Spam or advertising"));
    fireEvent.click(screen.getByTestId("send-report"));
    expect(await screen.findByTestId("report-sent")).toBeTruthy();
    expect(calls.find((c) => c.method === "POST")).toMatchObject({ body: { reason: "spam" } });
    fireEvent.click(screen.getByRole("button", { name: "Close" }));
    expect(screen.queryByTestId("report-dialog")).toBeNull();
  });
});
