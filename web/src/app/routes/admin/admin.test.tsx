import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { sampleAsOf, sampleEvents, sampleLag, sampleParked, samplePageSummary, sampleReported } from "@/testing/admin";
import { json, mockFetch, type Call } from "@/testing/http";
import { renderAt } from "@/testing/render";

const TOKEN = "adm_9f2Qx";
const KEY = "valentine:admin-token";

/** The console's API for the token `TOKEN`; `extra` answers first. */
function api(extra: (call: Call) => Response | undefined = () => undefined) {
  return mockFetch((call) => {
    const answer = extra(call);
    if (answer) return answer;
    if (call.headers.authorization !== `Bearer ${TOKEN}`) {
      return json(403, { detail: "Wrong admin token", code: "wrong_admin_token" });
    }
    if (call.url === "/api/admin/session") return json(200, { admin: "ana" });
    if (call.url.startsWith("/api/admin/pages?")) return json(200, { pages: [samplePageSummary] });
    if (call.url === "/api/admin/pages/AliceAndBob/events") return json(200, sampleEvents);
    if (call.url.startsWith("/api/admin/pages/AliceAndBob/as-of")) return json(200, sampleAsOf);
    if (call.url === "/api/admin/pages/AliceAndBob/reports") return json(200, { page: samplePageSummary, reports: [] });
    if (call.url === "/api/admin/reports")
      return json(200, { pages: [{ ...sampleReported, open: false, slug_key: "b" }, sampleReported] });
    if (call.url === "/api/admin/lag") return json(200, sampleLag);
    if (call.url === "/api/admin/parked") return json(200, { parked: [sampleParked] });
    return json(404, { detail: "Not found", code: "not_found" });
  });
}

function signIn(token: string) {
  fireEvent.change(screen.getByLabelText("Admin token"), { target: { value: token } });
  fireEvent.click(screen.getByTestId("admin-sign-in-submit"));
}

describe("the console at /admin", () => {
  it("signs in with a token kept in this tab's sessionStorage only, and signs out", async () => {
    const { calls } = api();
    renderAt("/admin");
    signIn(` ${TOKEN} `);
    expect((await screen.findByTestId("admin-signed-in")).textContent).toContain("ana");
    expect(calls[0]).toMatchObject({ url: "/api/admin/session", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(window.sessionStorage.getItem(KEY)).toBe(TOKEN);
    expect(JSON.stringify({ ...window.localStorage })).not.toContain(TOKEN);
    // The page search opens at once.
    expect(await screen.findByTestId("admin-page-row")).toBeTruthy();
    fireEvent.click(screen.getByTestId("admin-sign-out"));
    expect(screen.getByTestId("admin-sign-in")).toBeTruthy();
    expect(window.sessionStorage.getItem(KEY)).toBeNull();
  });

  it("says clearly when the token is wrong, and keeps nothing", async () => {
    api();
    renderAt("/admin");
    signIn("nope");
    expect((await screen.findByTestId("admin-sign-in-error")).textContent).toContain("not accepted");
    expect(window.sessionStorage.getItem(KEY)).toBeNull();
  });

  it("asks for a token before asking the API", () => {
    const { calls } = api();
    renderAt("/admin");
    signIn("   ");
    expect(screen.getByTestId("admin-sign-in-error").textContent).toContain("enter your admin token");
    expect(calls).toHaveLength(0);
  });

  it("says when to try again after too many attempts", async () => {
    api(() => json(429, { detail: "Too many requests", code: "rate_limited" }, { "Retry-After": "300" }));
    renderAt("/admin");
    signIn("guess");
    expect((await screen.findByTestId("admin-sign-in-error")).textContent).toContain("Try again in 5 minutes");
  });

  it("says when the console is turned off on the server", async () => {
    api(() => json(403, { detail: "The console is disabled", code: "admin_disabled" }));
    renderAt("/admin");
    signIn(TOKEN);
    expect((await screen.findByTestId("admin-sign-in-error")).textContent).toContain("turned off");
  });

  it("checks a kept token again on arrival, and forgets it when refused", async () => {
    window.sessionStorage.setItem(KEY, "revoked");
    api();
    renderAt("/admin");
    expect((await screen.findByTestId("admin-signed-out-notice")).textContent).toContain("not accepted");
    expect(window.sessionStorage.getItem(KEY)).toBeNull();
  });

  it("opens a page: its events, each with its diff, and the page as of an event in its design", async () => {
    window.sessionStorage.setItem(KEY, TOKEN);
    const { calls } = api();
    renderAt("/admin/pages/AliceAndBob");
    const rows = await screen.findAllByTestId("admin-event");
    expect(rows.map((r) => r.dataset.eventType)).toEqual(["PageCreated", "PageUpdated", "PageReported"]);
    expect(within(rows[2]!).getByTestId("admin-event-erased")).toBeTruthy();
    fireEvent.click(within(rows[1]!).getByTestId("admin-event-toggle"));
    expect(within(rows[1]!).getByTestId("admin-event-toggle").getAttribute("aria-expanded")).toBe("true");
    const details = screen.getByTestId("admin-event-details");
    expect(within(details).getByTestId("change-before").textContent).toBe("Be mine");
    expect(within(details).getByTestId("change-after").textContent).toBe("Still mine");

    fireEvent.click(within(rows[0]!).getByTestId("admin-as-of-button"));
    const asOf = await screen.findByTestId("admin-as-of");
    expect(asOf.dataset.at).toBe("2");
    expect(within(asOf).getByTestId("page-design").dataset.template).toBe("classic");
    expect(within(asOf).getByTestId("page-title").textContent).toBe("Be mine");
    expect(within(screen.getByTestId("admin-as-of-changes")).getAllByTestId("change")).toHaveLength(2);
    expect(calls.find((c) => c.url.includes("/as-of"))?.url).toBe("/api/admin/pages/AliceAndBob/as-of?at=2");
    // Reading a page as of a point sends nothing to the page's own endpoints.
    expect(calls.some((c) => c.url.startsWith("/api/pages/"))).toBe(false);
  });

  it("takes a page down only with a reason", async () => {
    window.sessionStorage.setItem(KEY, TOKEN);
    let down = false;
    const { calls } = api((call) => {
      if (call.url.endsWith("/take-down")) {
        down = true;
        return json(200, { slug: "aliceandbob", taken_down: true, by: "ana", position: 13 });
      }
      if (call.url === "/api/admin/pages/AliceAndBob/reports") {
        const page = { ...samplePageSummary, taken_down_at: down ? "2026-02-14T12:00:00Z" : null };
        return json(200, { page, reports: [] });
      }
      return undefined;
    });
    renderAt("/admin/pages/AliceAndBob");
    fireEvent.click(await screen.findByTestId("admin-take-down"));
    expect(screen.getByTestId("admin-moderation-error").textContent).toContain("give a reason");
    fireEvent.change(screen.getByLabelText("Why take it down?"), { target: { value: "Spam links" } });
    fireEvent.click(screen.getByTestId("admin-take-down"));
    expect((await screen.findByTestId("admin-moderation-feedback")).textContent).toContain("Taken down by ana");
    expect(calls.find((c) => c.url.endsWith("/take-down"))?.body).toEqual({ reason: "Spam links" });
    await waitFor(() => expect(screen.getByTestId("admin-moderation").dataset.takenDown).toBe("true"));
    expect(screen.getByTestId("admin-reinstate")).toBeTruthy();
  });

  it("lists reported pages, open ones first", async () => {
    window.sessionStorage.setItem(KEY, TOKEN);
    api();
    renderAt("/admin/reports");
    const rows = await screen.findAllByTestId("admin-reported-page");
    expect(rows.map((r) => r.dataset.open)).toEqual(["true", "false"]);
    expect(rows[0]!.textContent).toContain("Spam or advertising, Hateful content");
  });

  it("shows lag and heartbeats, asked again every two seconds, and parked events to retry with a reason", async () => {
    window.sessionStorage.setItem(KEY, TOKEN);
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let lag = 3;
    let heartbeatAge = 1.2;
    const { calls } = api((call) => {
      if (call.url === "/api/admin/lag") {
        const consumer = { ...sampleLag.consumers[0]!, lag_events: lag };
        const worker = { ...sampleLag.workers[0]!, heartbeat_age_seconds: heartbeatAge };
        return json(200, { ...sampleLag, consumers: [consumer], workers: [worker] });
      }
      if (call.url.endsWith("/retry")) return json(200, { ...sampleParked, state: "retry" });
      return undefined;
    });
    renderAt("/admin/health");
    await waitFor(() => expect(screen.getByTestId("admin-lag-consumer").dataset.lagEvents).toBe("3"));
    expect(screen.getByTestId("admin-worker").dataset.ready).toBe("true");
    expect(screen.getByTestId("admin-worker").dataset.state).toBe("ready");
    lag = 0;
    // A worker that stopped beating: what it last said (ready) no longer counts.
    heartbeatAge = 40;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2100);
    });
    await waitFor(() => expect(screen.getByTestId("admin-lag-consumer").dataset.lagEvents).toBe("0"));
    expect(screen.getByTestId("admin-worker").dataset.state).toBe("silent");

    fireEvent.click(await screen.findByTestId("admin-parked-retry"));
    fireEvent.click(screen.getByTestId("admin-parked-confirm"));
    expect(screen.getByText(/give a reason/)).toBeTruthy();
    fireEvent.change(screen.getByTestId("admin-parked-reason"), { target: { value: "bug fixed" } });
    fireEvent.click(screen.getByTestId("admin-parked-confirm"));
    await waitFor(() => expect(calls.find((c) => c.url.endsWith("/retry"))?.body).toEqual({ reason: "bug fixed" }));
  });

  it("says what went wrong when the lag cannot be read, and tries again on request", async () => {
    window.sessionStorage.setItem(KEY, TOKEN);
    let failing = true;
    const { calls } = api((call) =>
      call.url === "/api/admin/lag" && failing
        ? json(503, { detail: "The event store is unavailable; try again shortly", code: "unavailable" })
        : undefined,
    );
    renderAt("/admin/health");
    const error = await screen.findByTestId("console-error");
    expect(error.textContent).toContain("The event store is unavailable");
    failing = false;
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(screen.getByTestId("admin-lag-consumer")).toBeTruthy());
    expect(calls.filter((c) => c.url === "/api/admin/lag").length).toBeGreaterThanOrEqual(2);
  });
});
