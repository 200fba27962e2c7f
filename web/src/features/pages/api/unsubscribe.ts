import { apiData, segment } from "@/lib/api-client";
import { z } from "@/lib/zod";

const unsubscribedSchema = z.object({ message: z.string() });

/**
 * `POST /api/pages/{slug}/unsubscribe?token=…`: stops the page's notification mails, with
 * the token from a mail's unsubscribe link. `403 wrong_token` for a link that is not, or
 * no longer, valid.
 */
export async function unsubscribe(slug: string, token: string, signal?: AbortSignal): Promise<string> {
  const body = await apiData(
    `/api/pages/${segment(slug)}/unsubscribe?token=${encodeURIComponent(token)}`,
    unsubscribedSchema,
    { method: "POST", signal },
  );
  return body.message;
}
