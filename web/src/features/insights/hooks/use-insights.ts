import { useEffect, useState } from "react";

import { ApiError, errorMessage } from "@/lib/api-client";
import { isAbortError, sleep } from "@/lib/sleep";

import { getInsights } from "../api/get-insights";
import { streamInsights } from "../api/stream-insights";
import type { Insights } from "../types/insights";

/** How the insights reach the page: a live stream, or polling once it kept failing. */
export type InsightsLink = "connecting" | "live" | "reconnecting" | "polling";

export type InsightsState = {
  /** The latest insights, once any came. */
  insights: Insights | null;
  link: InsightsLink;
  /** The latest passing trouble (kept until the next success), for a quiet note. */
  problem: string | null;
  /** A refusal that ends it all: the token is wrong (`401`, `403`) or the page is gone (`404`). */
  refused: ApiError | null;
};

export type UseInsightsOptions = {
  /** Waits before reconnecting, after the 1st, 2nd, … stream in a row that brought nothing. */
  retryDelaysMs?: number[];
  /** After this many such streams in a row, poll instead. */
  streamAttempts?: number;
  pollIntervalMs?: number;
  /** A stream whose first event is this late is given up. */
  firstEventTimeoutMs?: number;
  /** A stream silent this long (keep-alives come every 15 s) is given up. */
  silenceTimeoutMs?: number;
};

const DEFAULTS: Required<UseInsightsOptions> = {
  retryDelaysMs: [1000, 2000, 4000],
  streamAttempts: 3,
  pollIntervalMs: 5000,
  firstEventTimeoutMs: 10_000,
  silenceTimeoutMs: 40_000,
};

function isRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && (error.status === 401 || error.status === 403 || error.status === 404);
}

/**
 * The page's insights for its author, kept current: read from the insights stream and
 * reconnected with a growing pause when it ends or fails. After `streamAttempts` streams
 * in a row that brought no event, it polls `GET …/insights` every 5 s instead. A refusal
 * (`401`, `403`, `404`) stops everything; so does unmounting.
 */
export function useInsights(slug: string, editToken: string, options: UseInsightsOptions = {}): InsightsState {
  const [state, setState] = useState<InsightsState>({
    insights: null,
    link: "connecting",
    problem: null,
    refused: null,
  });
  const { retryDelaysMs, streamAttempts, pollIntervalMs, firstEventTimeoutMs, silenceTimeoutMs } = {
    ...DEFAULTS,
    ...options,
  };

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    setState({ insights: null, link: "connecting", problem: null, refused: null });
    const update = (next: Partial<InsightsState>) => {
      if (!signal.aborted) setState((s) => ({ ...s, ...next }));
    };
    const received = (insights: Insights, link: InsightsLink) => update({ insights, link, problem: null });

    /** One stream, to its end; whether it brought any event. */
    const stream = async (): Promise<boolean> => {
      const attempt = new AbortController();
      const stop = () => attempt.abort(signal.reason);
      signal.addEventListener("abort", stop, { once: true });
      let brought = false;
      let watchdog = window.setTimeout(() => attempt.abort(), firstEventTimeoutMs);
      const watch = (ms: number) => {
        window.clearTimeout(watchdog);
        watchdog = window.setTimeout(() => attempt.abort(), ms);
      };
      try {
        await streamInsights(slug, editToken, {
          signal: attempt.signal,
          onInsights: (insights) => {
            brought = true;
            watch(silenceTimeoutMs);
            received(insights, "live");
          },
          onActivity: () => {
            if (brought) watch(silenceTimeoutMs);
          },
        });
      } catch (error) {
        if (signal.aborted || isRefusal(error)) throw error;
        if (!isAbortError(error) && !brought) update({ problem: errorMessage(error) });
      } finally {
        window.clearTimeout(watchdog);
        signal.removeEventListener("abort", stop);
        attempt.abort();
      }
      return brought;
    };

    const run = async () => {
      let failures = 0;
      while (failures < streamAttempts) {
        if (await stream()) failures = 0;
        else failures += 1;
        if (failures >= streamAttempts) break;
        update({ link: "reconnecting" });
        await sleep(retryDelaysMs[Math.min(Math.max(failures - 1, 0), retryDelaysMs.length - 1)] ?? 1000, signal);
      }
      update({ link: "polling" });
      for (;;) {
        try {
          received(await getInsights(slug, editToken, signal), "polling");
        } catch (error) {
          if (signal.aborted || isRefusal(error)) throw error;
          update({ problem: errorMessage(error) });
        }
        await sleep(pollIntervalMs, signal);
      }
    };

    run().catch((error: unknown) => {
      if (!signal.aborted && isRefusal(error)) update({ refused: error });
    });
    return () => controller.abort();
  }, [slug, editToken, retryDelaysMs.join(), streamAttempts, pollIntervalMs, firstEventTimeoutMs, silenceTimeoutMs]);

  return state;
}
