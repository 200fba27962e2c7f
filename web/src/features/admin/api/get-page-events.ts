import { apiData, segment } from "@/lib/api-client";

import { pageEventsSchema, type PageEvents } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `GET /api/admin/pages/{slug}/events`: every event of every life of the slug, oldest first. */
export function getPageEvents(token: string, slug: string, signal?: AbortSignal): Promise<PageEvents> {
  return apiData(`/api/admin/pages/${segment(slug)}/events`, pageEventsSchema, {
    headers: adminHeaders(token),
    signal,
  });
}
