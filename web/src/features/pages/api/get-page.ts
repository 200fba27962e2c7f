import { apiData, segment } from "@/lib/api-client";

import { pageSchema, type Page } from "../types/page";

/** `GET /api/pages/{slug}`: a page for its visitors (counts a view). */
export function getPage(slug: string, signal?: AbortSignal): Promise<Page> {
  return apiData(`/api/pages/${segment(slug)}`, pageSchema, { signal });
}
