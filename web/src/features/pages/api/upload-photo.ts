import { apiData, segment } from "@/lib/api-client";

import { pageSchema, type Page } from "../types/page";

/**
 * `PUT /api/pages/{slug}/photo` with the page's edit token: the photo's bytes as they are,
 * with their type. The server checks, re-encodes and strips it, and answers the page.
 * Refusals carry a code: `payload_too_large`, `unsupported_media_type`, `too_many_pixels`,
 * `undecodable`.
 */
export function uploadPhoto(slug: string, photo: Blob, editToken: string, signal?: AbortSignal): Promise<Page> {
  return apiData(`/api/pages/${segment(slug)}/photo`, pageSchema, {
    method: "PUT",
    rawBody: { data: photo, contentType: photo.type },
    headers: { "X-Edit-Token": editToken },
    signal,
  });
}
