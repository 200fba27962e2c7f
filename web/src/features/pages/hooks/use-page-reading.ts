import { useCallback, useEffect, useRef, useState } from "react";

import { ApiError } from "@/lib/api-client";
import { clockOffset } from "@/lib/server-clock";
import { isAbortError, sleep } from "@/lib/sleep";

import { readPage } from "../api/get-page";
import { isLocked, type LockedPage, type Page } from "../types/page";
import { forgetPin, recallPin, rememberPin } from "../utils/page-pin";

/** Why the PIN prompt is showing again. */
export type PinProblem = { kind: "wrong" } | { kind: "wait"; until: number | null } | null;

export type PageReadingState =
  | { state: "loading" }
  /** The page has a PIN and this visitor has not given the right one yet. */
  | { state: "pin"; problem: PinProblem; checking: boolean }
  /** The page opens later; `offsetMs` is how far the server's clock is ahead of this browser's. */
  | { state: "locked"; page: LockedPage; offsetMs: number; opening: boolean; stalled: boolean }
  /** The page, whole; `justOpened` when it opened at its time while the visitor waited. */
  | { state: "ready"; page: Page; pin: string | null; justOpened: boolean }
  | { state: "failed"; error: unknown };

type Mode = "first" | "pin" | "opening";

/** How many times to ask again when the server still says "locked" at the opening time. */
export const OPENING_RETRIES = 15;
const OPENING_RETRY_MS = 1000;

/**
 * A page as its visitor reads it: with the PIN kept for it in this tab (or asked for),
 * locked until its time and then opened without a reload. The PIN the API accepts is
 * remembered; a refused one is forgotten.
 */
export function usePageReading(slug: string, editToken: string | null) {
  const [reading, setReading] = useState<PageReadingState>({ state: "loading" });
  const pin = useRef<string | null>(recallPin(slug));
  const current = useRef<AbortController | null>(null);
  const alive = useRef<AbortController | null>(null);

  const load = useCallback(
    async (mode: Mode): Promise<"ready" | "locked" | "other"> => {
      current.current?.abort();
      const controller = new AbortController();
      current.current = controller;
      const sent = pin.current;
      try {
        const { page, serverDate, receivedAt } = await readPage(slug, {
          signal: controller.signal,
          editToken,
          pin: sent,
        });
        if (controller.signal.aborted) return "other";
        if (sent) rememberPin(slug, sent);
        if (isLocked(page)) {
          const offsetMs = clockOffset(serverDate, receivedAt);
          setReading({ state: "locked", page, offsetMs, opening: mode === "opening", stalled: false });
          return "locked";
        }
        setReading({ state: "ready", page, pin: sent, justOpened: mode === "opening" });
        return "ready";
      } catch (error) {
        if (controller.signal.aborted || isAbortError(error)) return "other";
        if (error instanceof ApiError && error.status === 401 && error.code === "pin_required") {
          if (sent) forgetPin(slug);
          pin.current = null;
          setReading({ state: "pin", problem: mode === "pin" ? { kind: "wrong" } : null, checking: false });
        } else if (error instanceof ApiError && error.status === 429 && sent) {
          pin.current = null;
          const until = error.retryAfter !== null ? Date.now() + error.retryAfter * 1000 : null;
          setReading({ state: "pin", problem: { kind: "wait", until }, checking: false });
        } else {
          setReading({ state: "failed", error });
        }
        return "other";
      }
    },
    [slug, editToken],
  );

  useEffect(() => {
    const lifetime = new AbortController();
    alive.current = lifetime;
    pin.current = recallPin(slug);
    setReading({ state: "loading" });
    void load("first");
    return () => {
      lifetime.abort();
      current.current?.abort();
    };
  }, [slug, load]);

  /** Tries `value` as the page's PIN; the prompt stays while it is checked. */
  const submitPin = useCallback(
    (value: string) => {
      pin.current = value;
      setReading((r) => (r.state === "pin" ? { ...r, checking: true } : r));
      void load("pin");
    },
    [load],
  );

  /** The opening time has come: asks for the page, a few times if the server still says "locked". */
  const open = useCallback(async () => {
    const lifetime = alive.current;
    setReading((r) => (r.state === "locked" ? { ...r, opening: true, stalled: false } : r));
    for (let attempt = 0; attempt <= OPENING_RETRIES; attempt += 1) {
      if (!lifetime || lifetime.signal.aborted) return;
      const outcome = await load("opening");
      if (outcome !== "locked") return;
      try {
        await sleep(OPENING_RETRY_MS, lifetime.signal);
      } catch {
        return;
      }
    }
    setReading((r) => (r.state === "locked" ? { ...r, opening: false, stalled: true } : r));
  }, [load]);

  const reload = useCallback(() => {
    setReading({ state: "loading" });
    void load("first");
  }, [load]);

  return { reading, submitPin, open, reload };
}
