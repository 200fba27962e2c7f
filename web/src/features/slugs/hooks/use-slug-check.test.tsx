import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ApiError } from "@/lib/api-client";
import { deferred, json, mockFetch } from "@/testing/http";

import type { SlugCheck } from "../api/check-slug";
import { useSlugCheck } from "./use-slug-check";

const free = (slug: string): SlugCheck => ({ slug, available: true, reason: null, suggestions: [] });
const taken = (slug: string): SlugCheck => ({
  slug,
  available: false,
  reason: "This slug is already taken",
  suggestions: [`${slug}-love`, `${slug}-2`],
});

/** Types `text` one character at a time, `gapMs` apart. */
async function typeOut(rerender: (props: { slug: string }) => void, text: string, gapMs = 80) {
  for (let i = 1; i <= text.length; i += 1) {
    rerender({ slug: text.slice(0, i) });
    await act(() => vi.advanceTimersByTimeAsync(gapMs));
  }
}

describe("useSlugCheck", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("asks once, 300 ms after typing stops", async () => {
    const check = vi.fn(async (slug: string) => free(slug));
    const { result, rerender } = renderHook(({ slug }) => useSlugCheck(slug, { check }), {
      initialProps: { slug: "" },
    });
    expect(result.current.status).toEqual({ state: "idle" });

    await typeOut(rerender, "alice");
    expect(check).not.toHaveBeenCalled();
    expect(result.current.status).toEqual({ state: "checking", slug: "alice" });

    await act(() => vi.advanceTimersByTimeAsync(219));
    expect(check).not.toHaveBeenCalled();
    await act(() => vi.advanceTimersByTimeAsync(1));
    expect(check).toHaveBeenCalledTimes(1);
    expect(check).toHaveBeenCalledWith("alice", expect.any(AbortSignal));
    expect(result.current.status).toEqual({ state: "available", slug: "alice" });

    await act(() => vi.advanceTimersByTimeAsync(5000));
    expect(check).toHaveBeenCalledTimes(1);
  });

  it("hits the real endpoint with the slug as one path segment", async () => {
    const { calls } = mockFetch(() => json(200, taken("alice")));
    const { result } = renderHook(() => useSlugCheck("alice"));
    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(calls.map((c) => c.url)).toEqual(["/api/slugs/check/alice"]);
    expect(result.current.status).toEqual({
      state: "unavailable",
      slug: "alice",
      reason: "This slug is already taken",
      suggestions: ["alice-love", "alice-2"],
    });
  });

  it("ignores a slow answer about a slug that is no longer typed", async () => {
    const answers = new Map<string, ReturnType<typeof deferred<SlugCheck>>>();
    const signals = new Map<string, AbortSignal>();
    const check = vi.fn((slug: string, signal: AbortSignal) => {
      const answer = deferred<SlugCheck>();
      answers.set(slug, answer);
      signals.set(slug, signal);
      return answer.promise;
    });
    const { result, rerender } = renderHook(({ slug }) => useSlugCheck(slug, { check }), {
      initialProps: { slug: "alice" },
    });

    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(check).toHaveBeenCalledTimes(1);

    rerender({ slug: "alice2" });
    expect(signals.get("alice")?.aborted).toBe(true);
    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(check).toHaveBeenCalledTimes(2);

    // The newer question is answered first, the older one last.
    await act(async () => answers.get("alice2")!.resolve(free("alice2")));
    await act(async () => answers.get("alice")!.resolve(taken("alice")));

    expect(result.current.status).toEqual({ state: "available", slug: "alice2" });
  });

  it("never reports the previous slug's verdict for a new slug", async () => {
    const check = vi.fn(async (slug: string) => (slug === "bob" ? taken(slug) : free(slug)));
    const { result, rerender } = renderHook(({ slug }) => useSlugCheck(slug, { check }), {
      initialProps: { slug: "alice" },
    });
    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(result.current.status.state).toBe("available");
    rerender({ slug: "bob" });
    expect(result.current.status).toEqual({ state: "checking", slug: "bob" });
  });

  it("answers malformed slugs itself, without a request", async () => {
    const check = vi.fn(async (slug: string) => free(slug));
    const { result, rerender } = renderHook(({ slug }) => useSlugCheck(slug, { check }), {
      initialProps: { slug: "al" },
    });
    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(result.current.status).toMatchObject({ state: "unavailable", reason: "Slug must be at least 3 characters" });
    rerender({ slug: "alice\n" });
    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(result.current.status).toMatchObject({
      state: "unavailable",
      reason: "Slug can only contain letters, numbers and hyphens",
    });
    expect(check).not.toHaveBeenCalled();
  });

  it("goes back to idle, and asks nothing, when the field is emptied", async () => {
    const check = vi.fn(async (slug: string) => free(slug));
    const { result, rerender } = renderHook(({ slug }) => useSlugCheck(slug, { check }), {
      initialProps: { slug: "alic" },
    });
    rerender({ slug: "" });
    await act(() => vi.advanceTimersByTimeAsync(1000));
    expect(result.current.status).toEqual({ state: "idle" });
    expect(check).not.toHaveBeenCalled();
  });

  it("shows a rate limit as an error with its wait", async () => {
    const check = vi.fn(async () => {
      throw new ApiError({ status: 429, code: "rate_limited", detail: "Too many checks", retryAfter: 20 });
    });
    const { result } = renderHook(() => useSlugCheck("alice", { check }));
    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(result.current.status).toEqual({
      state: "error",
      slug: "alice",
      message: "Whoa, that's a lot of love at once! Please try again in 20 seconds.",
    });
  });

  it("asks again on recheck", async () => {
    const check = vi.fn(async (slug: string) => free(slug));
    const { result } = renderHook(() => useSlugCheck("alice", { check }));
    await act(() => vi.advanceTimersByTimeAsync(300));
    act(() => result.current.recheck());
    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(check).toHaveBeenCalledTimes(2);
  });
});
