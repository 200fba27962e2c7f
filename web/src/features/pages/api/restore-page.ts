import { apiData, segment } from "@/lib/api-client";

import { pageSchema, type Page } from "../types/page";

/**
 * `POST /api/pages/{slug}/restore` with the page's edit token: brings the words, names,
 * design and song back as they were right after the event at `streamSequence`, as a new
 * change. Answers the page after it.
 */
export function restorePage(
  slug: string,
  streamSequence: number,
  editToken: string,
  signal?: AbortSignal,
): Promise<Page> {
  return apiData(`/api/pages/${segment(slug)}/restore`, pageSchema, {
    method: "POST",
    body: { stream_sequence: streamSequence },
    headers: { "X-Edit-Token": editToken },
    signal,
  });
}
