import { apiData, segment } from "@/lib/api-client";

import { moderationSchema, type Moderation } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `POST /api/admin/pages/{slug}/reinstate` for `reason`: puts a page taken down back up. `409 not_taken_down`. */
export function reinstatePage(token: string, slug: string, reason: string): Promise<Moderation> {
  return apiData(`/api/admin/pages/${segment(slug)}/reinstate`, moderationSchema, {
    method: "POST",
    body: { reason },
    headers: adminHeaders(token),
  });
}
