import { z } from "@/lib/zod";

/** A text that may be absent or `null`, read as `null` either way. */
const optionalText = z.pipe(
  z.optional(z.nullable(z.string())),
  z.transform((value) => value ?? null),
);

export const pageSchema = z.object({
  id: z.number(),
  slug: z.string(),
  title: z.string(),
  message: z.string(),
  sender_name: optionalText,
  recipient_name: optionalText,
  template_id: z.string(),
  created_at: z.string(),
  updated_at: z.optional(z.string()),
  view_count: z.number(),
});

/** A page as the API returns it. */
export type Page = z.output<typeof pageSchema>;

/** What a page says and how it looks: the fields an author writes. */
export type PageContent = {
  title: string;
  message: string;
  sender_name: string;
  recipient_name: string;
  template_id: string;
};
