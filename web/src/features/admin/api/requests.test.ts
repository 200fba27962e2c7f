import { describe, expect, it } from "vitest";

import { json, mockFetch } from "@/testing/http";
import {
  sampleAsOf,
  sampleEvents,
  sampleLag,
  sampleParked,
  samplePageSummary,
  sampleReported,
  sampleStoredMessage,
  sampleStreams,
} from "@/testing/admin";

import { getLag } from "./get-lag";
import { getMessage } from "./get-message";
import { getPageAsOf } from "./get-page-as-of";
import { getPageEvents } from "./get-page-events";
import { getPageReports } from "./get-page-reports";
import { getParked } from "./get-parked";
import { getReports } from "./get-reports";
import { getSession } from "./get-session";
import { getStreams } from "./get-streams";
import { reinstatePage } from "./reinstate-page";
import { retryParked } from "./retry-parked";
import { searchPages } from "./search-pages";
import { skipParked } from "./skip-parked";
import { takeDownPage } from "./take-down-page";

const TOKEN = "adm_secret";

describe("the console's endpoints", () => {
  it("send the admin token as a bearer token", async () => {
    const { calls } = mockFetch(() => json(200, { admin: "ana" }));
    await expect(getSession(TOKEN)).resolves.toBe("ana");
    expect(calls[0]).toMatchObject({ url: "/api/admin/session", headers: { authorization: `Bearer ${TOKEN}` } });
  });

  it("GET /api/admin/pages?q= by slug prefix", async () => {
    const { calls } = mockFetch(() => json(200, { pages: [samplePageSummary] }));
    const pages = await searchPages(TOKEN, "Alice&");
    expect(calls[0]?.url).toBe("/api/admin/pages?q=Alice%26");
    expect(pages[0]).toEqual(samplePageSummary);
  });

  it("GET /api/admin/pages/{slug}/events: every life, erased skeletons included", async () => {
    const { calls } = mockFetch(() => json(200, sampleEvents));
    const events = await getPageEvents(TOKEN, "aliceandbob");
    expect(calls[0]?.url).toBe("/api/admin/pages/aliceandbob/events");
    expect(events.events.map((e) => [e.event_type, e.erased])).toEqual([
      ["PageCreated", false],
      ["PageUpdated", false],
      ["PageReported", true],
    ]);
    expect(events.events[2]?.payload).toBeNull();
    expect(events.events[1]?.changes[0]).toEqual({ field: "title", before: "Be mine", after: "Still mine" });
  });

  it("GET /api/admin/pages/{slug}/as-of?at= with a sequence or a time", async () => {
    const { calls } = mockFetch(() => json(200, sampleAsOf));
    const asOf = await getPageAsOf(TOKEN, "aliceandbob", "2026-02-14T09:00:00+01:00");
    expect(calls[0]?.url).toBe("/api/admin/pages/aliceandbob/as-of?at=2026-02-14T09%3A00%3A00%2B01%3A00");
    expect(asOf.page?.title).toBe("Be mine");
    expect(asOf.page?.pin).toBe(false);
  });

  it("reads an as-of with no live page", async () => {
    mockFetch(() => json(200, { ...sampleAsOf, page: null }));
    await expect(getPageAsOf(TOKEN, "aliceandbob", "9")).resolves.toMatchObject({ page: null });
  });

  it("GET /api/admin/pages/{slug}/reports", async () => {
    const report = {
      reason: "spam",
      note: null,
      reported_at: "2026-02-14T10:00:00Z",
      stream_sequence: 12,
      sequence: 4,
      page_id: 2,
      slug_key: "aliceandbob",
    };
    mockFetch(() => json(200, { page: samplePageSummary, reports: [report] }));
    const reports = await getPageReports(TOKEN, "aliceandbob");
    expect(reports.reports[0]?.reason).toBe("spam");
  });

  it("POST take-down and reinstate with the reason", async () => {
    const { calls } = mockFetch((call) =>
      json(200, { slug: "aliceandbob", taken_down: call.url.endsWith("take-down"), by: "ana", position: 14 }),
    );
    await expect(takeDownPage(TOKEN, "aliceandbob", "spam links")).resolves.toMatchObject({ taken_down: true });
    await expect(reinstatePage(TOKEN, "aliceandbob", "cleaned up")).resolves.toMatchObject({ taken_down: false });
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ["POST", "/api/admin/pages/aliceandbob/take-down", { reason: "spam links" }],
      ["POST", "/api/admin/pages/aliceandbob/reinstate", { reason: "cleaned up" }],
    ]);
  });

  it("passes on a conflicting decision", async () => {
    mockFetch(() => json(409, { detail: "The page is already taken down", code: "already_taken_down" }));
    await expect(takeDownPage(TOKEN, "aliceandbob", "x")).rejects.toMatchObject({ code: "already_taken_down" });
  });

  it("GET /api/admin/reports, /messages/{seq} and /streams", async () => {
    const { calls } = mockFetch((call) => {
      if (call.url === "/api/admin/reports") return json(200, { pages: [sampleReported] });
      if (call.url === "/api/admin/messages/3") return json(200, sampleStoredMessage);
      return json(200, sampleStreams);
    });
    expect((await getReports(TOKEN))[0]?.open).toBe(true);
    expect((await getMessage(TOKEN, 3)).headers[0]).toEqual({ name: "Nats-Msg-Id", value: "01JKZ" });
    expect((await getStreams(TOKEN)).streams[0]?.consumers[0]?.name).toBe("projector-main");
    expect(calls.map((c) => c.url)).toEqual(["/api/admin/reports", "/api/admin/messages/3", "/api/admin/streams"]);
  });

  it("GET /api/admin/lag: consumers' lag and workers' heartbeats", async () => {
    mockFetch(() => json(200, sampleLag));
    const lag = await getLag(TOKEN);
    expect(lag.consumers[0]).toMatchObject({ consumer: "projector-main", lag_events: 3, oldest_unapplied_at: null });
    expect(lag.workers[0]).toMatchObject({ role: "projector", stuck: false, reason: null });
  });

  it("refuses a lag answer of the wrong shape", async () => {
    mockFetch(() => json(200, { consumers: [{ consumer: "x" }], workers: [] }));
    await expect(getLag(TOKEN)).rejects.toMatchObject({ code: "unexpected_response" });
  });

  it("GET /api/admin/parked, and retry or skip one with a reason", async () => {
    const { calls } = mockFetch((call) => {
      if (call.method === "GET") return json(200, { parked: [sampleParked] });
      return json(200, { ...sampleParked, state: call.url.endsWith("/retry") ? "retry" : "skipped" });
    });
    expect((await getParked(TOKEN))[0]?.state).toBe("parked");
    await expect(retryParked(TOKEN, "projector-main", 17, "fixed")).resolves.toMatchObject({ state: "retry" });
    await expect(skipParked(TOKEN, "projector-main", 17, "obsolete")).resolves.toMatchObject({ state: "skipped" });
    expect(calls.slice(1).map((c) => [c.url, c.body])).toEqual([
      ["/api/admin/parked/projector-main/17/retry", { reason: "fixed" }],
      ["/api/admin/parked/projector-main/17/skip", { reason: "obsolete" }],
    ]);
  });
});
