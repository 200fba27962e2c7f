import { useCallback, useEffect, useState } from "react";

import { errorMessage } from "@/lib/api-client";
import { isAbortError } from "@/lib/sleep";

import { checkSlug, type SlugCheck } from "../api/check-slug";
import { slugFormatProblem } from "../utils/slug-rules";

export type SlugStatus =
  | { state: "idle" }
  /** Typing, or the check is on its way. */
  | { state: "checking"; slug: string }
  | { state: "available"; slug: string }
  /** Invalid, reserved or taken, with the API's reason as it gave it. */
  | { state: "unavailable"; slug: string; reason: string; suggestions: string[] }
  /** The check itself failed (offline, rate limited); creating may still work. */
  | { state: "error"; slug: string; message: string };

export type UseSlugCheckOptions = {
  /** Quiet time after the last keystroke before asking. */
  delayMs?: number;
  check?: (slug: string, signal: AbortSignal) => Promise<SlugCheck>;
};

/**
 * Whether `slug` is free, asked once typing has paused for `delayMs`. A newer slug
 * cancels the older question, and an answer about anything but the current slug is
 * dropped, so a slow reply can never overwrite a newer one.
 */
export function useSlugCheck(slug: string, { delayMs = 300, check = checkSlug }: UseSlugCheckOptions = {}) {
  const [status, setStatus] = useState<SlugStatus>({ state: "idle" });
  const [round, setRound] = useState(0);

  useEffect(() => {
    if (slug === "") {
      setStatus({ state: "idle" });
      return;
    }
    setStatus({ state: "checking", slug });
    const controller = new AbortController();
    let current = true;
    const timer = setTimeout(() => {
      const problem = slugFormatProblem(slug);
      if (problem) {
        setStatus({ state: "unavailable", slug, reason: problem, suggestions: [] });
        return;
      }
      check(slug, controller.signal).then(
        (answer) => {
          if (!current) return;
          setStatus(
            answer.available
              ? { state: "available", slug }
              : {
                  state: "unavailable",
                  slug,
                  reason: answer.reason ?? "This slug is not available",
                  suggestions: answer.suggestions,
                },
          );
        },
        (error: unknown) => {
          if (!current || isAbortError(error)) return;
          setStatus({ state: "error", slug, message: errorMessage(error) });
        },
      );
    }, delayMs);
    return () => {
      current = false;
      clearTimeout(timer);
      controller.abort();
    };
  }, [slug, delayMs, check, round]);

  /** Asks again about the current slug, e.g. after a create found it taken. */
  const recheck = useCallback(() => setRound((n) => n + 1), []);

  // Between a keystroke and its effect, the state still describes the previous slug.
  const fresh: SlugStatus =
    slug === ""
      ? { state: "idle" }
      : status.state !== "idle" && status.slug === slug
        ? status
        : { state: "checking", slug };
  return { status: fresh, recheck };
}
