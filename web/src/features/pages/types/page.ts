import { z } from "@/lib/zod";

/** A text that may be absent or `null`, read as `null` either way. */
const optionalText = z.pipe(
  z.optional(z.nullable(z.string())),
  z.transform((value) => value ?? null),
);

/** The page's photo, re-encoded by the server; `url` needs the PIN when the page has one. */
export const photoSchema = z.object({
  url: z.string(),
  content_type: z.string(),
  width: z.number(),
  height: z.number(),
});

/** The services a song can come from. */
export const SONG_SERVICES = ["spotify", "youtube", "apple_music", "soundcloud"] as const;
export type SongService = (typeof SONG_SERVICES)[number];

/** The page's song: its canonical link and the player to frame, on the service's embed host. */
export const songSchema = z.object({
  url: z.string(),
  service: z.enum(SONG_SERVICES),
  embed_url: z.string(),
});

/** A field added after the first pages were written: absent reads as `null`. */
function later<T extends z.ZodMiniType>(schema: T) {
  return z._default(z.nullable(schema), null);
}

export const pageSchema = z.object({
  id: z.number(),
  slug: z.string(),
  title: z.string(),
  message: z.string(),
  sender_name: optionalText,
  recipient_name: optionalText,
  template_id: z.string(),
  photo: later(photoSchema),
  song: later(songSchema),
  reveal_at: later(z.string()),
  has_pin: z._default(z.boolean(), false),
  /** A full page is never locked. */
  locked: z._default(z.null(), null),
  created_at: z.string(),
  updated_at: z.optional(z.string()),
  view_count: z.number(),
  /** Present only to the author, while the page's moderators have it down. */
  taken_down: later(z.object({ at: z.string(), reason: z.string() })),
});

/**
 * A page read before its `reveal_at`: who it is for and when it opens, nothing of what it
 * says (no title, message, photo or song reach the browser).
 */
export const lockedPageSchema = z.object({
  id: z.number(),
  slug: z.string(),
  template_id: z.string(),
  sender_name: optionalText,
  recipient_name: optionalText,
  reveal_at: z.string(),
  has_pin: z._default(z.boolean(), false),
  locked: z.literal("scheduled"),
  created_at: z.string(),
  updated_at: z.optional(z.string()),
  view_count: z.number(),
});

/** What a visitor's read answers: the page, or the page still locked until its time. */
export const pageReadSchema = z.union([lockedPageSchema, pageSchema]);

/** A page as the API returns it. */
export type Page = z.output<typeof pageSchema>;
export type LockedPage = z.output<typeof lockedPageSchema>;
export type PageRead = z.output<typeof pageReadSchema>;
export type Photo = z.output<typeof photoSchema>;
export type Song = z.output<typeof songSchema>;
export type TakenDown = NonNullable<Page["taken_down"]>;

export function isLocked(page: PageRead): page is LockedPage {
  return page.locked === "scheduled";
}

/** What a page says and how it looks: the fields an author writes. */
export type PageContent = {
  title: string;
  message: string;
  sender_name: string;
  recipient_name: string;
  template_id: string;
};
