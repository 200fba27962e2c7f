import { apiData } from "@/lib/api-client";

import { reportedPagesSchema, type ReportedPage } from "../types/admin";
import { adminHeaders } from "../utils/admin-token";

/** `GET /api/admin/reports`: reported live pages, those waiting for a decision first. */
export async function getReports(token: string, signal?: AbortSignal): Promise<ReportedPage[]> {
  const data = await apiData("/api/admin/reports", reportedPagesSchema, { headers: adminHeaders(token), signal });
  return data.pages;
}
