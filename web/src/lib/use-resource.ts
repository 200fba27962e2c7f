import { useCallback, useEffect, useState, type DependencyList } from "react";

import { isAbortError } from "./sleep";

export type Resource<T> = { state: "loading" } | { state: "ready"; data: T } | { state: "failed"; error: unknown };

/**
 * Loads something when the component appears (and again when `deps` change or on
 * `reload`), cancelling the previous load so that only the newest answer is kept.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList) {
  const [resource, setResource] = useState<Resource<T>>({ state: "loading" });
  const [round, setRound] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setResource({ state: "loading" });
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setResource({ state: "ready", data });
      },
      (error: unknown) => {
        if (!controller.signal.aborted && !isAbortError(error)) setResource({ state: "failed", error });
      },
    );
    return () => controller.abort();
    // `load` is a fresh closure each render; the caller lists what it depends on in `deps`.
  }, [...deps, round]);

  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { resource, reload, setResource };
}
