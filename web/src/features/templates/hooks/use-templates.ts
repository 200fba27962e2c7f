import { useCallback, useEffect, useState } from "react";

import { getTemplates } from "../api/get-templates";
import type { Template } from "../types/template";

// The list is part of the API's code and cached by browsers for a day: one request per
// visit is plenty, shared by every component that asks.
let cached: Promise<Template[]> | null = null;

function loadTemplates(): Promise<Template[]> {
  cached ??= getTemplates().catch((error: unknown) => {
    cached = null;
    throw error;
  });
  return cached;
}

/** Forgets the shared list (tests start each case afresh). */
export function clearTemplatesCache(): void {
  cached = null;
}

export type TemplatesState =
  { state: "loading" } | { state: "ready"; templates: Template[] } | { state: "failed"; error: unknown };

/** The templates from `GET /api/templates`, in the API's order. */
export function useTemplates() {
  const [result, setResult] = useState<TemplatesState>({ state: "loading" });
  const [round, setRound] = useState(0);

  useEffect(() => {
    let current = true;
    setResult({ state: "loading" });
    loadTemplates().then(
      (templates) => current && setResult({ state: "ready", templates }),
      (error: unknown) => current && setResult({ state: "failed", error }),
    );
    return () => {
      current = false;
    };
  }, [round]);

  const retry = useCallback(() => setRound((n) => n + 1), []);
  return { ...result, retry } as TemplatesState & { retry: () => void };
}
