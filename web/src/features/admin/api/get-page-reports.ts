import { apiData, segment } from "@/lib/api-client";

import { pageReportsSchema, type PageReports } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `GET /api/admin/pages/{slug}/reports`: the page now at the slug and its reports, newest first. */
export function getPageReports(token: string, slug: string, signal?: AbortSignal): Promise<PageReports> {
  return apiData(`/api/admin/pages/${segment(slug)}/reports`, pageReportsSchema, {
    headers: adminHeaders(token),
    signal,
  });
}
