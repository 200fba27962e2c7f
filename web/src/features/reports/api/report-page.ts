import type { ReportReason } from "@/config/report-reasons";
import { apiData, segment } from "@/lib/api-client";
import { z } from "@/lib/zod";

const receivedSchema = z.object({ status: z.string() });

export type PageReport = { reason: ReportReason; note?: string };

/**
 * `POST /api/pages/{slug}/report`: tells the page's moderators about it. `422` for a note
 * too long, `429` over this client's budget, `451` when the page is down already.
 */
export async function reportPage(slug: string, report: PageReport, signal?: AbortSignal): Promise<void> {
  await apiData(`/api/pages/${segment(slug)}/report`, receivedSchema, { method: "POST", body: report, signal });
}
