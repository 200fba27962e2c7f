import { describe, expect, it } from "vitest";

import { json, mockFetch } from "@/testing/http";

import { ApiError, apiData, apiRequest, describeWait, errorMessage, parseRetryAfter, segment } from "./api-client";
import { z } from "./zod";

const okSchema = z.object({ ok: z.boolean() });

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("apiRequest", () => {
  it("returns the status and the checked body of a success", async () => {
    mockFetch(() => json(201, { ok: true }));
    const answer = await apiRequest("/api/x", okSchema);
    expect(answer.status).toBe(201);
    expect(answer.data).toEqual({ ok: true });
  });

  it("sends JSON bodies with their content type and the caller's headers", async () => {
    const { calls } = mockFetch(() => json(200, { ok: true }));
    await apiData("/api/x", okSchema, { method: "PATCH", body: { title: "Hi" }, headers: { "X-Edit-Token": "t0k" } });
    expect(calls[0]).toMatchObject({
      url: "/api/x",
      method: "PATCH",
      body: { title: "Hi" },
      headers: { "content-type": "application/json", "x-edit-token": "t0k", accept: "application/json" },
    });
  });

  it("turns the API's error body into a typed ApiError", async () => {
    mockFetch(() =>
      json(422, {
        detail: "title is required; message must be at most 2000 characters",
        code: "invalid",
        errors: [
          { field: "title", message: "title is required" },
          { field: "message", message: "message must be at most 2000 characters" },
        ],
      }),
    );
    const error = await failure(apiData("/api/pages", okSchema, { method: "POST", body: {} }));
    expect(error.status).toBe(422);
    expect(error.code).toBe("invalid");
    expect(error.detail).toBe("title is required; message must be at most 2000 characters");
    expect(error.message).toBe(error.detail);
    expect(error.errors).toEqual([
      { field: "title", message: "title is required" },
      { field: "message", message: "message must be at most 2000 characters" },
    ]);
    expect(error.retryAfter).toBeNull();
  });

  it("reads Retry-After on a 429", async () => {
    mockFetch(() =>
      json(429, { detail: "Too many pages created; try again later", code: "rate_limited" }, { "Retry-After": "1800" }),
    );
    const error = await failure(apiData("/api/pages", okSchema));
    expect(error).toMatchObject({ status: 429, code: "rate_limited", retryAfter: 1800 });
    expect(errorMessage(error)).toBe("Whoa, that's a lot of love at once! Please try again in 30 minutes.");
  });

  it("falls back to a status-based code and sentence when the body is not the API's", async () => {
    mockFetch(
      () => new Response("<html>Bad gateway</html>", { status: 502, headers: { "Content-Type": "text/html" } }),
    );
    const error = await failure(apiData("/api/x", okSchema));
    expect(error.status).toBe(502);
    expect(error.code).toBe("error");
    expect(error.detail).toMatch(/try again/);
    expect(error.transient).toBe(true);
  });

  it("keeps the status-based code when the body has a detail but no code", async () => {
    mockFetch(() => json(404, { detail: "Page not found" }));
    const error = await failure(apiData("/api/pages/nope", okSchema));
    expect(error).toMatchObject({ status: 404, code: "not_found", detail: "Page not found", transient: false });
  });

  it("reports no answer at all as a network error with status 0", async () => {
    mockFetch(() => {
      throw new TypeError("Failed to fetch");
    });
    const error = await failure(apiData("/api/x", okSchema));
    expect(error).toMatchObject({ status: 0, code: "network", transient: true });
  });

  it("refuses a success whose body has the wrong shape", async () => {
    mockFetch(() => json(200, { ok: "yes" }));
    const error = await failure(apiData("/api/x", okSchema));
    expect(error.code).toBe("unexpected_response");
  });

  it("rejects with the abort itself, not an ApiError, when cancelled", async () => {
    mockFetch(({ signal }) => {
      if (signal?.aborted) throw new DOMException("aborted", "AbortError");
      return json(200, { ok: true });
    });
    const controller = new AbortController();
    controller.abort();
    const error = await apiData("/api/x", okSchema, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ApiError);
    expect((error as Error).name).toBe("AbortError");
  });
});

describe("parseRetryAfter", () => {
  it("reads whole seconds", () => {
    expect(parseRetryAfter("0")).toBe(0);
    expect(parseRetryAfter(" 42 ")).toBe(42);
  });

  it("reads an HTTP date as the seconds until then, never negative", () => {
    const now = Date.parse("Wed, 25 Nov 2026 12:00:00 GMT");
    expect(parseRetryAfter("Wed, 25 Nov 2026 12:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("Wed, 25 Nov 2026 11:00:00 GMT", now)).toBe(0);
  });

  it("ignores what it cannot read", () => {
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("")).toBeNull();
    expect(parseRetryAfter("-5")).toBeNull();
    expect(parseRetryAfter("1.5")).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });
});

describe("describeWait", () => {
  it("speaks in seconds, minutes or hours", () => {
    expect(describeWait(1)).toBe("a second");
    expect(describeWait(12)).toBe("12 seconds");
    expect(describeWait(60)).toBe("a minute");
    expect(describeWait(61)).toBe("2 minutes");
    expect(describeWait(3600)).toBe("about an hour");
    expect(describeWait(3 * 3600)).toBe("about 3 hours");
  });
});

describe("segment", () => {
  it("keeps user input inside one path segment", () => {
    expect(segment("a/b?c#d")).toBe("a%2Fb%3Fc%23d");
    expect(segment("alice\n")).toBe("alice%0A");
  });
});
