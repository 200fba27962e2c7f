/** Why someone reports a page, as the API names it, with what people read. */
export const REPORT_REASONS = [
  { id: "spam", label: "Spam or advertising" },
  { id: "harassment", label: "Harassment or bullying" },
  { id: "hate", label: "Hateful content" },
  { id: "sexual", label: "Sexual content" },
  { id: "personal_info", label: "Someone's private information" },
  { id: "illegal", label: "Something illegal" },
  { id: "other", label: "Something else" },
] as const;

export type ReportReason = (typeof REPORT_REASONS)[number]["id"];

/** The label of a reason; an unknown one as it came. */
export function reportReasonLabel(id: string): string {
  return REPORT_REASONS.find((r) => r.id === id)?.label ?? id;
}

/** The longest note a report may carry, in characters. */
export const REPORT_NOTE_MAX = 500;
