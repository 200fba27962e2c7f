import { z } from "@/lib/zod";

/** Absent or `null`, read as `null` either way. */
const orNull = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.optional(z.nullable(schema)),
    z.transform((value) => value ?? null),
  );

const answerSchema = z.object({
  answer: z.enum(["yes", "heart"]),
  /** How many times "No" ran away before "Yes"; 0 for a heart. */
  dodges: z.number(),
  answered_at: z.string(),
});

export const insightsSchema = z.object({
  /** When the page was first opened by someone without its edit token. */
  first_opened_at: orNull(z.string()),
  views_total: z.number(),
  /** UTC days with views, oldest first. */
  views_by_day: z.array(z.object({ day: z.string(), views: z.number() })),
  answer: orNull(answerSchema),
  /** Where the mails about the first open and the answer go. */
  notify_email: orNull(z.string()),
});

/** What the author may know of their page: opens, views, the answer. */
export type Insights = z.output<typeof insightsSchema>;
export type InsightsAnswer = NonNullable<Insights["answer"]>;
