import { apiData } from "@/lib/api-client";

import { streamsSchema, type Streams } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `GET /api/admin/streams`: every stream of the event store and where each durable consumer stands. */
export function getStreams(token: string, signal?: AbortSignal): Promise<Streams> {
  return apiData("/api/admin/streams", streamsSchema, { headers: adminHeaders(token), signal });
}
