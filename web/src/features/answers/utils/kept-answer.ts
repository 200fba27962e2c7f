import { z } from "@/lib/zod";

/**
 * This browser's reply to a page, kept in localStorage so that a visitor who comes back
 * sees their answer instead of the question. Keyed by slug and page id: a deleted page's
 * address may be taken by a new page, which has not been answered.
 */

const keptSchema = z.object({
  answer: z.enum(["yes", "heart"]),
  dodges: z.number(),
  answered_at: z.nullable(z.string()),
  /** The API said the page had been answered before this reply. */
  already: z.boolean(),
});

export type KeptAnswer = z.output<typeof keptSchema>;

const storageKey = (slug: string, pageId: number) => `valentine:answer:${slug.toLowerCase()}:${pageId}`;

export function keepAnswer(slug: string, pageId: number, answer: KeptAnswer): void {
  try {
    window.localStorage.setItem(storageKey(slug, pageId), JSON.stringify(answer));
  } catch {
    // Without storage the answer is kept as long as the page is open.
  }
}

export function recallAnswer(slug: string, pageId: number): KeptAnswer | null {
  try {
    const raw = window.localStorage.getItem(storageKey(slug, pageId));
    if (raw === null) return null;
    const parsed = keptSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
