import { apiData, segment } from "@/lib/api-client";

import { pageSchema, type Page } from "../types/page";

/**
 * The fields to change. A `null` name or address removes it; absent fields stay as they are.
 */
export type PageChanges = {
  title?: string;
  message?: string;
  sender_name?: string | null;
  recipient_name?: string | null;
  template_id?: string;
  /** The address for notification mails. Never part of the page the API answers. */
  notify_email?: string | null;
  /** A link to the page's song; `null` removes it. */
  song_url?: string | null;
  /** When the page opens (RFC 3339 with an offset); `null` opens it now. `409 already_revealed` once it has. */
  reveal_at?: string | null;
  /** A new PIN; `null` removes it. The old one is never shown. */
  pin?: string | null;
};

/** `PATCH /api/pages/{slug}` with the page's edit token: the page after the change. */
export function updatePage(slug: string, changes: PageChanges, editToken: string, signal?: AbortSignal): Promise<Page> {
  return apiData(`/api/pages/${segment(slug)}`, pageSchema, {
    method: "PATCH",
    body: changes,
    headers: { "X-Edit-Token": editToken },
    signal,
  });
}

/**
 * The page as its author sees it: an update that changes nothing records nothing and
 * answers the page, so this checks the token up front and counts no view.
 */
export function getPageForAuthor(slug: string, editToken: string, signal?: AbortSignal): Promise<Page> {
  return updatePage(slug, {}, editToken, signal);
}
