import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { eventStream, json, mockFetch, sampleInsights } from "@/testing/http";

import { useInsights } from "./use-insights";

const STREAM = "/api/pages/AliceAndBob/insights/stream";
const POLL = "/api/pages/AliceAndBob/insights";

describe("useInsights", () => {
  it("reads the stream with the token in a header, and follows every event", async () => {
    const stream = eventStream();
    const { calls } = mockFetch((call) => stream.response(call));
    const { result } = renderHook(() => useInsights("AliceAndBob", "tok"));
    expect(result.current.link).toBe("connecting");

    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]).toMatchObject({ url: STREAM, headers: { "x-edit-token": "tok", accept: "text/event-stream" } });
    expect(calls[0]?.url).not.toContain("tok");

    stream.event("insights", sampleInsights);
    await waitFor(() => expect(result.current.insights).toEqual(sampleInsights));
    expect(result.current.link).toBe("live");

    stream.send(": keep-alive\n\n");
    stream.send(`event: insights\r\ndata: ${JSON.stringify({ ...sampleInsights, views_total: 1 })}\r\n`);
    stream.send("\r\n");
    await waitFor(() => expect(result.current.insights?.views_total).toBe(1));
  });

  it("reconnects when the stream ends, and stops reading when unmounted", async () => {
    vi.useFakeTimers();
    const stream = eventStream();
    const { calls } = mockFetch((call) => stream.response(call));
    const { result, unmount } = renderHook(() => useInsights("AliceAndBob", "tok"));
    await act(() => vi.advanceTimersByTimeAsync(0));
    stream.event("insights", sampleInsights);
    await act(() => vi.advanceTimersByTimeAsync(0));
    stream.close();
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(result.current.link).toBe("reconnecting");
    // The last insights stay on screen meanwhile.
    expect(result.current.insights).toEqual(sampleInsights);
    await act(() => vi.advanceTimersByTimeAsync(1000));
    expect(stream.opened).toBe(2);

    unmount();
    expect(calls.at(-1)?.signal?.aborted).toBe(true);
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(calls).toHaveLength(2);
  });

  it("falls back to polling every 5 s after the stream failed three times in a row", async () => {
    vi.useFakeTimers();
    const { calls } = mockFetch((call) =>
      call.url === STREAM
        ? json(502, { detail: "Bad gateway" })
        : json(200, { ...sampleInsights, views_total: calls.length }),
    );
    const { result } = renderHook(() => useInsights("AliceAndBob", "tok"));
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(calls.map((c) => c.url)).toEqual([STREAM]);
    await act(() => vi.advanceTimersByTimeAsync(1000));
    expect(calls.map((c) => c.url)).toEqual([STREAM, STREAM]);
    await act(() => vi.advanceTimersByTimeAsync(2000));
    expect(calls.map((c) => c.url)).toEqual([STREAM, STREAM, STREAM, POLL]);
    expect(result.current.link).toBe("polling");
    expect(result.current.insights?.views_total).toBe(4);
    expect(calls[3]?.headers["x-edit-token"]).toBe("tok");

    await act(() => vi.advanceTimersByTimeAsync(4999));
    expect(calls).toHaveLength(4);
    await act(() => vi.advanceTimersByTimeAsync(1));
    expect(calls).toHaveLength(5);
    expect(result.current.insights?.views_total).toBe(5);
  });

  it("gives up a stream whose first event never comes", async () => {
    vi.useFakeTimers();
    const stream = eventStream();
    mockFetch((call) => stream.response(call));
    renderHook(() => useInsights("AliceAndBob", "tok", { firstEventTimeoutMs: 3000 }));
    await act(() => vi.advanceTimersByTimeAsync(2999));
    expect(stream.opened).toBe(1);
    await act(() => vi.advanceTimersByTimeAsync(1 + 1000));
    expect(stream.opened).toBe(2);
  });

  it.each([401, 403, 404])("stops at a %s, neither reconnecting nor polling", async (status) => {
    vi.useFakeTimers();
    const { calls } = mockFetch(() => json(status, { detail: "No", code: "nope" }));
    const { result } = renderHook(() => useInsights("AliceAndBob", "tok"));
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(result.current.refused?.status).toBe(status);
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(calls).toHaveLength(1);
  });

  it("counts an event of the wrong shape as a failed stream", async () => {
    vi.useFakeTimers();
    const stream = eventStream();
    mockFetch((call) => stream.response(call));
    const { result } = renderHook(() => useInsights("AliceAndBob", "tok"));
    await act(() => vi.advanceTimersByTimeAsync(0));
    stream.event("insights", { views_total: "many" });
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(result.current.insights).toBeNull();
    expect(result.current.problem).toMatch(/didn't understand/);
    await act(() => vi.advanceTimersByTimeAsync(1000));
    expect(stream.opened).toBe(2);
  });
});
