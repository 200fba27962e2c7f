import { apiData, segment } from "@/lib/api-client";

import { moderationSchema, type Moderation } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/**
 * `POST /api/admin/pages/{slug}/take-down` for `reason` (1–500 characters): from then on
 * everyone but the author reads `451`. `409 already_taken_down`, `422` for a blank reason.
 */
export function takeDownPage(token: string, slug: string, reason: string): Promise<Moderation> {
  return apiData(`/api/admin/pages/${segment(slug)}/take-down`, moderationSchema, {
    method: "POST",
    body: { reason },
    headers: adminHeaders(token),
  });
}
