import { apiData } from "@/lib/api-client";

import { lagSchema, type Lag } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/**
 * `GET /api/admin/lag`: each consumer's lag in events and seconds (from JetStream, so it
 * rises even while every worker is frozen) and each worker's last heartbeat.
 */
export function getLag(token: string, signal?: AbortSignal): Promise<Lag> {
  return apiData("/api/admin/lag", lagSchema, { headers: adminHeaders(token), signal });
}
