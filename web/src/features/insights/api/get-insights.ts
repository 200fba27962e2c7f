import { apiData, segment } from "@/lib/api-client";

import { insightsSchema, type Insights } from "../types/insights";

/** `GET /api/pages/{slug}/insights` with the page's edit token. */
export function getInsights(slug: string, editToken: string, signal?: AbortSignal): Promise<Insights> {
  return apiData(`/api/pages/${segment(slug)}/insights`, insightsSchema, {
    headers: { "X-Edit-Token": editToken },
    signal,
  });
}
