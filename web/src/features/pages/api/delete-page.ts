import { apiData, segment } from "@/lib/api-client";
import { z } from "@/lib/zod";

const deletedSchema = z.object({ message: z.string() });

/** `DELETE /api/pages/{slug}` with the page's edit token. */
export async function deletePage(slug: string, editToken: string, signal?: AbortSignal): Promise<string> {
  const body = await apiData(`/api/pages/${segment(slug)}`, deletedSchema, {
    method: "DELETE",
    headers: { "X-Edit-Token": editToken },
    signal,
  });
  return body.message;
}
