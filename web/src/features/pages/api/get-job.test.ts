import { describe, expect, it, vi } from "vitest";

import { ApiError } from "@/lib/api-client";
import { json, mockFetch, samplePage } from "@/testing/http";

import { JobFailedError, JobTimeoutError, waitForJob } from "./get-job";

const JOB = "01JKZ3V6C4QG2T8X5N1M7B9R0D";
const queued = { job_id: JOB, status: "queued" };
const started = { job_id: JOB, status: "started" };
const finished = {
  job_id: JOB,
  status: "finished",
  result: { page: samplePage, url: "https://valentine.example/AliceAndBob" },
};

describe("waitForJob", () => {
  it("polls once a second until the page is live", async () => {
    vi.useFakeTimers();
    const answers = [queued, queued, started, finished];
    const { calls } = mockFetch(() => json(200, answers.shift()));
    const seen: string[] = [];
    const pending = waitForJob(JOB, { onStatus: (s) => seen.push(s) });

    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2000);

    await expect(pending).resolves.toEqual(finished.result);
    expect(calls).toHaveLength(4);
    expect(calls[0]?.url).toBe(`/api/pages/job/${JOB}`);
    expect(seen).toEqual(["queued", "queued", "started", "finished"]);
  });

  it("gives up after 30 seconds with a timeout", async () => {
    vi.useFakeTimers();
    const { calls } = mockFetch(() => json(200, queued));
    const outcome = waitForJob(JOB).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(31_000);
    expect(await outcome).toBeInstanceOf(JobTimeoutError);
    // One poll at once, then one a second, none past the 30-second mark.
    expect(calls.length).toBeGreaterThanOrEqual(30);
    expect(calls.length).toBeLessThanOrEqual(31);
  });

  it("polls through a passing outage", async () => {
    vi.useFakeTimers();
    const answers = [json(503, { detail: "busy", code: "unavailable" }, { "Retry-After": "2" }), json(200, finished)];
    const { calls } = mockFetch(() => answers.shift()!);
    const pending = waitForJob(JOB);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    await expect(pending).resolves.toEqual(finished.result);
    expect(calls).toHaveLength(2);
  });

  it("stops at an error that will not pass", async () => {
    mockFetch(() => json(404, { detail: "Job not found", code: "not_found" }));
    const error = await waitForJob(JOB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
  });

  it("fails when the job finished without a page", async () => {
    mockFetch(() => json(200, { job_id: JOB, status: "finished", error: "The page has since been deleted" }));
    const error = await waitForJob(JOB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as Error).message).toBe("The page has since been deleted");
  });

  it("stops polling when aborted", async () => {
    vi.useFakeTimers();
    const { calls } = mockFetch(() => json(200, queued));
    const controller = new AbortController();
    const outcome = waitForJob(JOB, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2500);
    controller.abort();
    const error = await outcome;
    expect((error as Error).name).toBe("AbortError");
    const count = calls.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toHaveLength(count);
  });
});
