import { apiData, segment } from "@/lib/api-client";
import { z } from "@/lib/zod";

import { pageSchema } from "../types/page";

// Loose objects: the export is saved as a file for its author, so whatever else the API
// puts in it is kept rather than dropped.
const exportedEventSchema = z.looseObject({
  sequence: z.number(),
  stream_sequence: z.number(),
  event_type: z.string(),
  event_version: z.string(),
  occurred_at: z.string(),
  command_id: z.string(),
  /** What the event recorded: every field for a creation, the changed ones for an update. */
  data: z.record(z.string(), z.unknown()),
});

const pageExportSchema = z.looseObject({
  slug: z.string(),
  page_id: z.number(),
  exported_at: z.string(),
  page: z.looseObject(pageSchema.shape),
  events: z.array(exportedEventSchema),
});

export type PageExport = z.output<typeof pageExportSchema>;
export type ExportedEvent = z.output<typeof exportedEventSchema>;

/**
 * `GET /api/pages/{slug}/export` with the page's edit token: the page as it is now and
 * every event of it, oldest first, for its author to keep.
 */
export function exportPage(slug: string, editToken: string, signal?: AbortSignal): Promise<PageExport> {
  return apiData(`/api/pages/${segment(slug)}/export`, pageExportSchema, {
    headers: { "X-Edit-Token": editToken },
    signal,
  });
}
