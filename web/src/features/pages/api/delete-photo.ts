import { apiData, segment } from "@/lib/api-client";

import { pageSchema, type Page } from "../types/page";

/** `DELETE /api/pages/{slug}/photo` with the page's edit token: the page without its photo. */
export function deletePhoto(slug: string, editToken: string, signal?: AbortSignal): Promise<Page> {
  return apiData(`/api/pages/${segment(slug)}/photo`, pageSchema, {
    method: "DELETE",
    headers: { "X-Edit-Token": editToken },
    signal,
  });
}
