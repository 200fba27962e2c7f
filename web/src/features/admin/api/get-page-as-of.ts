import { apiData, segment } from "@/lib/api-client";

import { asOfSchema, type AsOf } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/**
 * `GET /api/admin/pages/{slug}/as-of?at=`: the slug as it stood at `at`, a stream sequence
 * or an RFC 3339 time (`400` for anything else). A read of the stream: nothing is counted.
 */
export function getPageAsOf(token: string, slug: string, at: string, signal?: AbortSignal): Promise<AsOf> {
  const query = new URLSearchParams({ at });
  return apiData(`/api/admin/pages/${segment(slug)}/as-of?${query}`, asOfSchema, {
    headers: adminHeaders(token),
    signal,
  });
}
