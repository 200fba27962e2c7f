import { z } from "@/lib/zod";

/** A text that may be absent or `null`, read as `null` either way. */
const maybeText = z._default(z.nullable(z.string()), null);

/** `GET /api/admin/session`: who the token belongs to. */
export const sessionSchema = z.object({ admin: z.string() });

export const PAGE_STATES = ["live", "deleted", "erased"] as const;

/** A page as the console lists it: enough to pick it, nothing of its words but its title. */
export const pageSummarySchema = z.object({
  slug_key: z.string(),
  slug: z.string(),
  page_id: z.number(),
  title: z.string(),
  state: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  taken_down_at: maybeText,
  reports: z.number(),
  last_stream_sequence: z.number(),
});

/** One field an event changed, values fit to show (`null`: none). */
export const fieldChangeSchema = z.object({ field: z.string(), before: maybeText, after: maybeText });

/** One event of a slug's history, from the event stream itself. */
export const timelineEventSchema = z.object({
  stream_sequence: z.number(),
  sequence: z.number(),
  /** The life of the slug it belongs to (0 for an erased skeleton). */
  page_id: z.number(),
  event_type: z.string(),
  event_version: z.string(),
  timestamp: z.string(),
  event_id: z.string(),
  command_id: z.string(),
  changed_fields: z._default(z.array(z.string()), () => []),
  erased: z._default(z.boolean(), false),
  payload: z.unknown(),
  changes: z._default(z.array(fieldChangeSchema), () => []),
});

export const pageEventsSchema = z.object({ slug: z.string(), events: z.array(timelineEventSchema) });

/** A page as it stood at some point: what it showed and how it was set up, secrets as flags. */
export const pageVersionSchema = z.object({
  slug: z.string(),
  title: z.string(),
  message: z.string(),
  sender_name: maybeText,
  recipient_name: maybeText,
  template_id: z.string(),
  song_url: maybeText,
  reveal_at: maybeText,
  pin: z._default(z.boolean(), false),
  photo: z._default(z.nullable(z.unknown()), null),
  notify_email: maybeText,
  opened: z._default(z.boolean(), false),
  answer: z._default(z.nullable(z.unknown()), null),
  reports: z._default(z.number(), 0),
  /** Why the moderators took it down, while it was down. */
  taken_down: maybeText,
});

export const asOfSchema = z.object({
  slug: z.string(),
  at: z.string(),
  events: z.array(timelineEventSchema),
  page: z.nullable(pageVersionSchema),
});

export const reportSchema = z.object({
  reason: z.string(),
  note: maybeText,
  reported_at: z.string(),
  stream_sequence: z.number(),
  sequence: z.number(),
  page_id: z.number(),
  slug_key: z.string(),
});

export const pageReportsSchema = z.object({
  page: pageSummarySchema,
  reports: z.array(reportSchema),
});

export const moderationSchema = z.object({
  slug: z.string(),
  taken_down: z.boolean(),
  by: z.string(),
  position: z.number(),
});

export const reportedPageSchema = z.object({
  slug_key: z.string(),
  slug: z.string(),
  page_id: z.number(),
  title: z.string(),
  reports: z.number(),
  reasons: z.string(),
  first_reported_at: z.string(),
  last_reported_at: z.string(),
  taken_down_at: maybeText,
  last_moderated_at: maybeText,
  open: z.boolean(),
});

export const reportedPagesSchema = z.object({ pages: z.array(reportedPageSchema) });

export const storedMessageSchema = z.object({
  stream_sequence: z.number(),
  subject: z.string(),
  stored_at: z.string(),
  headers: z.array(z.object({ name: z.string(), value: z.string() })),
  opened: z.boolean(),
  erased: z.boolean(),
  commit: z.unknown(),
});

export const consumerStatusSchema = z.object({
  name: z.string(),
  acknowledged_through: z.number(),
  delivered_through: z.number(),
  pending: z.number(),
  unacknowledged: z.number(),
  redelivered: z.number(),
  waiting: z.number(),
});

export const streamsSchema = z.object({
  streams: z.array(
    z.object({
      name: z.string(),
      subjects: z.array(z.string()),
      messages: z.number(),
      bytes: z.number(),
      first_sequence: z.number(),
      last_sequence: z.number(),
      last_at: maybeText,
      consumers: z.array(consumerStatusSchema),
    }),
  ),
});

/** A durable consumer's lag, computed by the API from JetStream (it rises even with every worker frozen). */
export const consumerLagSchema = z.object({
  stream: z.string(),
  consumer: z.string(),
  acknowledged_through: z.number(),
  last_sequence: z.number(),
  lag_events: z.number(),
  lag_seconds: z.number(),
  oldest_unapplied_at: maybeText,
});

/** What one worker last said of itself in its heartbeat. */
export const workerSchema = z.object({
  role: z.string(),
  read_model: z.string(),
  instance: z.string(),
  heartbeat_at: z.string(),
  heartbeat_age_seconds: z.number(),
  last_commit_at: maybeText,
  ready: z.boolean(),
  stuck: z.boolean(),
  reason: maybeText,
  consumers: z._default(
    z.array(
      z.object({
        consumer: z.string(),
        stream: z.string(),
        position: z.number(),
        last_sequence: z.number(),
        lag_events: z.number(),
        lag_seconds: z.number(),
      }),
    ),
    () => [],
  ),
});

export const lagSchema = z.object({ consumers: z.array(consumerLagSchema), workers: z.array(workerSchema) });

export const PARKED_STATES = ["parked", "retry", "resolved", "skipped"] as const;

/** One message a projector set aside, and what became of it. */
export const parkedEventSchema = z.object({
  consumer: z.string(),
  stream: z.string(),
  stream_sequence: z.number(),
  subject: z.string(),
  error: z.string(),
  attempts: z.number(),
  parked_at: z.string(),
  state: z.enum(PARKED_STATES),
  decided_by: maybeText,
  decision_reason: maybeText,
  decided_at: maybeText,
});

export const parkedSchema = z.object({ parked: z.array(parkedEventSchema) });

export type PageSummary = z.output<typeof pageSummarySchema>;
export type FieldChange = z.output<typeof fieldChangeSchema>;
export type TimelineEvent = z.output<typeof timelineEventSchema>;
export type PageEvents = z.output<typeof pageEventsSchema>;
export type PageVersion = z.output<typeof pageVersionSchema>;
export type AsOf = z.output<typeof asOfSchema>;
export type Report = z.output<typeof reportSchema>;
export type PageReports = z.output<typeof pageReportsSchema>;
export type Moderation = z.output<typeof moderationSchema>;
export type ReportedPage = z.output<typeof reportedPageSchema>;
export type StoredMessage = z.output<typeof storedMessageSchema>;
export type Streams = z.output<typeof streamsSchema>;
export type Lag = z.output<typeof lagSchema>;
export type ConsumerLag = z.output<typeof consumerLagSchema>;
export type Worker = z.output<typeof workerSchema>;
export type ParkedEvent = z.output<typeof parkedEventSchema>;
