import { apiData } from "@/lib/api-client";

import { sessionSchema } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `GET /api/admin/session`: the admin's name; checks the token at sign-in. */
export async function getSession(token: string, signal?: AbortSignal): Promise<string> {
  const data = await apiData("/api/admin/session", sessionSchema, { headers: adminHeaders(token), signal });
  return data.admin;
}
