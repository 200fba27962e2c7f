import { apiData } from "@/lib/api-client";
import { z } from "@/lib/zod";

const suggestSchema = z.object({ suggestions: z.array(z.string()) });

/** `GET /api/slugs/suggest`: available addresses made from any text, e.g. a name. */
export async function suggestSlugs(base: string, count = 5, signal?: AbortSignal): Promise<string[]> {
  const query = new URLSearchParams({ base, count: String(Math.min(10, Math.max(1, count))) });
  const body = await apiData(`/api/slugs/suggest?${query}`, suggestSchema, { signal });
  return body.suggestions;
}
