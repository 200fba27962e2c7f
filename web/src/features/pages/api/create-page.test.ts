import { describe, expect, it, vi } from "vitest";

import { ApiError } from "@/lib/api-client";
import { json, mockFetch, sampleNewPage, samplePage } from "@/testing/http";

import { createPage, type CreatePageInput } from "./create-page";

const input: CreatePageInput = sampleNewPage;

const created = { page: samplePage, edit_token: "tok_created", url: "https://valentine.example/AliceAndBob" };

describe("createPage", () => {
  it("posts the page with its Idempotency-Key and reads a 201", async () => {
    const { calls } = mockFetch(() => json(201, created));
    const outcome = await createPage(input, { idempotencyKey: "key-1" });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ url: "/api/pages", method: "POST", body: input });
    expect(calls[0]?.headers["idempotency-key"]).toBe("key-1");
    expect(outcome).toEqual({ kind: "created", page: samplePage, editToken: "tok_created", url: created.url });
  });

  it("reads a 202 as queued, with its job and the edit token", async () => {
    mockFetch(() =>
      json(202, {
        job_id: "01JKZ3V6C4QG2T8X5N1M7B9R0D",
        status: "queued",
        message: "Saved; poll the job",
        edit_token: "tok_q",
      }),
    );
    const outcome = await createPage(input, { idempotencyKey: "key-1" });
    expect(outcome).toEqual({
      kind: "queued",
      jobId: "01JKZ3V6C4QG2T8X5N1M7B9R0D",
      message: "Saved; poll the job",
      editToken: "tok_q",
    });
  });

  it("resends after a 503 with the same key, waiting as Retry-After asks", async () => {
    vi.useFakeTimers();
    const answers = [
      json(503, { detail: "Try again", code: "unavailable" }, { "Retry-After": "2" }),
      json(201, created),
    ];
    const { calls } = mockFetch(() => answers.shift()!);
    const pending = createPage(input, { idempotencyKey: "same-key" });

    await vi.advanceTimersByTimeAsync(1999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const outcome = await pending;

    expect(calls).toHaveLength(2);
    expect(calls.map((c) => c.headers["idempotency-key"])).toEqual(["same-key", "same-key"]);
    expect(calls[1]?.body).toEqual(calls[0]?.body);
    expect(outcome.kind).toBe("created");
  });

  it("resends when no answer came, still with the same key", async () => {
    vi.useFakeTimers();
    let attempt = 0;
    const { calls } = mockFetch(() => {
      attempt += 1;
      if (attempt < 3) throw new TypeError("Failed to fetch");
      return json(201, created);
    });
    const pending = createPage(input, { idempotencyKey: "k" });
    await vi.advanceTimersByTimeAsync(5000);
    await expect(pending).resolves.toMatchObject({ kind: "created", editToken: "tok_created" });
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.headers["idempotency-key"]))).toEqual(new Set(["k"]));
  });

  it("gives up after its retries and reports the last failure", async () => {
    vi.useFakeTimers();
    const { calls } = mockFetch(() => json(503, { detail: "Event store unreachable", code: "unavailable" }));
    const pending = createPage(input, { idempotencyKey: "k", retries: 2 });
    const outcome = pending.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);
    const error = await outcome;
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(503);
    expect(calls).toHaveLength(3);
  });

  it("does not resend what the API refused", async () => {
    const { calls } = mockFetch(() => json(409, { detail: "This slug is already taken", code: "slug_taken" }));
    await expect(createPage(input, { idempotencyKey: "k" })).rejects.toMatchObject({
      status: 409,
      detail: "This slug is already taken",
    });
    expect(calls).toHaveLength(1);
  });

  it("does not resend a 429 either, and keeps its retry time", async () => {
    const { calls } = mockFetch(() =>
      json(429, { detail: "Too many", code: "rate_limited" }, { "Retry-After": "600" }),
    );
    await expect(createPage(input, { idempotencyKey: "k" })).rejects.toMatchObject({ status: 429, retryAfter: 600 });
    expect(calls).toHaveLength(1);
  });
});
