import { apiData, segment } from "@/lib/api-client";

import { pageSchema, type Page } from "../types/page";

export type GetPageOptions = {
  signal?: AbortSignal;
  /**
   * The page's edit token, when this browser holds it: the author's own look is then
   * not taken for the recipient's first open.
   */
  editToken?: string | null;
};

/** `GET /api/pages/{slug}`: a page for its visitors (counts a view). */
export function getPage(slug: string, { signal, editToken }: GetPageOptions = {}): Promise<Page> {
  return apiData(`/api/pages/${segment(slug)}`, pageSchema, {
    signal,
    headers: editToken ? { "X-Edit-Token": editToken } : undefined,
  });
}
