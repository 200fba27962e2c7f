import { describe, expect, it, vi } from "vitest";

import { json, mockFetch } from "@/testing/http";

import { ApiError, apiData } from "./api-client";
import { lastWritePosition, rememberWritePosition } from "./write-position";
import { z } from "./zod";

const okSchema = z.object({ ok: z.boolean() });

describe("read-your-writes", () => {
  it("sends no position before this browser has written anything", async () => {
    const { calls } = mockFetch(() => json(200, { ok: true }));
    await apiData("/api/pages/ann", okSchema);
    expect(calls[0]?.headers["valentine-min-position"]).toBeUndefined();
  });

  it("names the latest write's position on every later read, but not on writes", async () => {
    const { calls } = mockFetch((call) =>
      call.method === "GET" ? json(200, { ok: true }) : json(201, { ok: true }, { "Valentine-Position": "41" }),
    );
    await apiData("/api/pages", okSchema, { method: "POST", body: {} });
    await apiData("/api/pages/ann", okSchema);
    await apiData("/api/slugs/check/ann", okSchema);
    await apiData("/api/pages", okSchema, { method: "PATCH", body: {} });
    expect(calls.map((c) => c.headers["valentine-min-position"])).toEqual([undefined, "41", "41", undefined]);
  });

  it("never moves the position back, and ignores what is not a position", () => {
    rememberWritePosition("40");
    for (const older of ["12", "-3", "abc", "", "1e3", "99999999999999999999", null]) rememberWritePosition(older);
    expect(lastWritePosition()).toBe(40);
    rememberWritePosition(" 57 ");
    expect(lastWritePosition()).toBe(57);
    expect(window.localStorage.getItem("valentine:position")).toBe("57");
  });

  it("reads a job's status without a position", async () => {
    rememberWritePosition("9");
    const { calls } = mockFetch(() => json(200, { ok: true }));
    await apiData("/api/pages/job/01J", okSchema, { sync: false });
    expect(calls[0]?.headers["valentine-min-position"]).toBeUndefined();
  });

  it("asks again while the answering server catches up, then answers", async () => {
    vi.useFakeTimers();
    rememberWritePosition("7");
    let behind = 2;
    const { calls } = mockFetch(() =>
      behind-- > 0
        ? json(503, { detail: "not caught up", code: "behind" }, { "Retry-After": "1" })
        : json(200, { ok: true }),
    );
    const answer = apiData("/api/pages/ann", okSchema);
    await vi.runAllTimersAsync();
    await expect(answer).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(3);
  });

  it("gives up after a few tries, and other failures are not retried", async () => {
    vi.useFakeTimers();
    rememberWritePosition("7");
    const { calls } = mockFetch(() => json(503, { detail: "not caught up", code: "behind" }, { "Retry-After": "1" }));
    const answer = apiData("/api/pages/ann", okSchema).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const error = await answer;
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("behind");
    expect(calls).toHaveLength(6);

    const other = mockFetch(() => json(503, { detail: "down", code: "unavailable" }));
    await expect(apiData("/api/pages/ann", okSchema)).rejects.toMatchObject({ code: "unavailable" });
    expect(other.calls).toHaveLength(1);
  });
});
