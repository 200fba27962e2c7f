import { useCallback, useEffect, useRef, useState, type DependencyList } from "react";

import { isAbortError } from "@/lib/sleep";

export type Polled<T> = {
  /** The latest answer, kept while the next one is asked for (and after a failure). */
  data: T | null;
  /** The latest failure, cleared by the next success. */
  error: unknown;
  /** When the latest answer came (ms since the epoch). */
  updatedAt: number | null;
};

/**
 * Loads something now and again every `intervalMs` (a new round starts only after the last
 * one ended), and on `refresh`. Stops when the component goes or `deps` change.
 */
export function usePolling<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, deps: DependencyList) {
  const [state, setState] = useState<Polled<T>>({ data: null, error: null, updatedAt: null });
  const [round, setRound] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    let timer: number | undefined;
    const tick = async () => {
      try {
        const data = await loadRef.current(controller.signal);
        if (!controller.signal.aborted) setState({ data, error: null, updatedAt: Date.now() });
      } catch (error) {
        if (controller.signal.aborted || isAbortError(error)) return;
        setState((s) => ({ ...s, error }));
      }
      if (!controller.signal.aborted) timer = window.setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
    // `load` is read through a ref; the caller lists what it depends on in `deps`.
  }, [...deps, intervalMs, round]);

  const refresh = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, refresh };
}
