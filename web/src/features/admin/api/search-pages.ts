import { apiData } from "@/lib/api-client";
import { z } from "@/lib/zod";

import { pageSummarySchema, type PageSummary } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

const pagesSchema = z.object({ pages: z.array(pageSummarySchema) });

/** `GET /api/admin/pages?q=`: pages whose slug starts with `prefix` (any casing), at most 100. */
export async function searchPages(token: string, prefix: string, signal?: AbortSignal): Promise<PageSummary[]> {
  const query = new URLSearchParams({ q: prefix });
  const data = await apiData(`/api/admin/pages?${query}`, pagesSchema, { headers: adminHeaders(token), signal });
  return data.pages;
}
