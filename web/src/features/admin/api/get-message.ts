import { apiData } from "@/lib/api-client";

import { storedMessageSchema, type StoredMessage } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `GET /api/admin/messages/{sequence}`: the message at that stream position as stored, secrets redacted. `404` when none. */
export function getMessage(token: string, streamSequence: number, signal?: AbortSignal): Promise<StoredMessage> {
  return apiData(`/api/admin/messages/${streamSequence}`, storedMessageSchema, {
    headers: adminHeaders(token),
    signal,
  });
}
