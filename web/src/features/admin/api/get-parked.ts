import { apiData } from "@/lib/api-client";

import { parkedSchema, type ParkedEvent } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `GET /api/admin/parked`: the messages projectors set aside, and what became of each. */
export async function getParked(token: string, signal?: AbortSignal): Promise<ParkedEvent[]> {
  const data = await apiData("/api/admin/parked", parkedSchema, { headers: adminHeaders(token), signal });
  return data.parked;
}
