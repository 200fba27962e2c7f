import { apiData, segment } from "@/lib/api-client";
import { z } from "@/lib/zod";

/** One field an event changed, its values fit to show (`null`: none). */
const fieldChangeSchema = z.object({
  field: z.string(),
  before: z._default(z.nullable(z.string()), null),
  after: z._default(z.nullable(z.string()), null),
});

const historyEventSchema = z.object({
  sequence: z.number(),
  stream_sequence: z.optional(z.number()),
  event_type: z.string(),
  occurred_at: z.string(),
  changed_fields: z._default(z.array(z.string()), () => []),
  changes: z._default(z.array(fieldChangeSchema), () => []),
});

const historySchema = z.object({
  slug: z.string(),
  page_id: z.number(),
  events: z.array(historyEventSchema),
});

export type PageHistory = z.output<typeof historySchema>;
export type PageHistoryEvent = z.output<typeof historyEventSchema>;
export type FieldChange = z.output<typeof fieldChangeSchema>;

/** `GET /api/pages/{slug}/history` with the page's edit token: its events, oldest first. */
export function getPageHistory(slug: string, editToken: string, signal?: AbortSignal): Promise<PageHistory> {
  return apiData(`/api/pages/${segment(slug)}/history`, historySchema, {
    headers: { "X-Edit-Token": editToken },
    signal,
  });
}
