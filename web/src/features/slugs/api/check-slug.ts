import { apiData, segment } from "@/lib/api-client";
import { z } from "@/lib/zod";

const checkSchema = z.object({
  slug: z.string(),
  available: z.boolean(),
  reason: z.pipe(
    z.optional(z.nullable(z.string())),
    z.transform((value) => value ?? null),
  ),
  suggestions: z._default(z.array(z.string()), () => []),
});

export type SlugCheck = z.output<typeof checkSchema>;

/** `GET /api/slugs/check/{slug}`: whether a page can live at this address. */
export function checkSlug(slug: string, signal?: AbortSignal): Promise<SlugCheck> {
  return apiData(`/api/slugs/check/${segment(slug)}`, checkSchema, { signal });
}
