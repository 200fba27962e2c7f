import { apiData, segment } from "@/lib/api-client";

import { parkedEventSchema, type ParkedEvent } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `POST /api/admin/parked/{consumer}/{sequence}/retry` for `reason`: a projector tries it again. `409 not_parked`. */
export function retryParked(
  token: string,
  consumer: string,
  streamSequence: number,
  reason: string,
): Promise<ParkedEvent> {
  return apiData(`/api/admin/parked/${segment(consumer)}/${streamSequence}/retry`, parkedEventSchema, {
    method: "POST",
    body: { reason },
    headers: adminHeaders(token),
  });
}
