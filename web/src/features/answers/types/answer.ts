import { z } from "@/lib/zod";

/** The one reply a page takes: "yes" to a proposal, a heart to every other design. */
export type AnswerKind = "yes" | "heart";

export const answerSchema = z.object({
  answer: z.enum(["yes", "heart"]),
  /** How many times "No" ran away before "Yes"; 0 for a heart. */
  dodges: z.number(),
  answered_at: z.string(),
});

/** A reply as the API recorded it. */
export type Answer = z.output<typeof answerSchema>;
