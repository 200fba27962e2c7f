import { apiData, segment } from "@/lib/api-client";

import { parkedEventSchema, type ParkedEvent } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `POST /api/admin/parked/{consumer}/{sequence}/skip` for `reason`: it stays unapplied for good. `409 not_parked`. */
export function skipParked(
  token: string,
  consumer: string,
  streamSequence: number,
  reason: string,
): Promise<ParkedEvent> {
  return apiData(`/api/admin/parked/${segment(consumer)}/${streamSequence}/skip`, parkedEventSchema, {
    method: "POST",
    body: { reason },
    headers: adminHeaders(token),
  });
}
