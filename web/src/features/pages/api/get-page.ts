import { apiData, apiRequest, segment } from "@/lib/api-client";

import { pageReadSchema, type PageRead } from "../types/page";

export type GetPageOptions = {
  signal?: AbortSignal;
  /**
   * The page's edit token, when this browser holds it: the author's own look is then
   * not taken for the recipient's first open, and the author sees the page whole, before
   * its time and without its PIN.
   */
  editToken?: string | null;
  /** The PIN the visitor typed, for a page that has one (`X-Page-Pin`). */
  pin?: string | null;
};

/** A read of a page, with the server's clock (its `Date` header) when the answer came. */
export type PageReading = {
  page: PageRead;
  /** The answer's `Date` header. */
  serverDate: string | null;
  /** This browser's clock when the answer arrived. */
  receivedAt: number;
};

function headersFor({ editToken, pin }: GetPageOptions): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  if (editToken) headers["X-Edit-Token"] = editToken;
  if (pin) headers["X-Page-Pin"] = encodeURIComponent(pin);
  return Object.keys(headers).length > 0 ? headers : undefined;
}

/**
 * `GET /api/pages/{slug}`: a page for its visitors (counts a view). Before its opening
 * time it answers the locked page; with a PIN it needs the right one (`401 pin_required`,
 * `429` after too many wrong ones).
 */
export async function readPage(slug: string, options: GetPageOptions = {}): Promise<PageReading> {
  const { data, headers } = await apiRequest(`/api/pages/${segment(slug)}`, pageReadSchema, {
    signal: options.signal,
    headers: headersFor(options),
  });
  return { page: data, serverDate: headers.get("Date"), receivedAt: Date.now() };
}

/** `readPage` for when only the page matters. */
export function getPage(slug: string, options: GetPageOptions = {}): Promise<PageRead> {
  return apiData(`/api/pages/${segment(slug)}`, pageReadSchema, {
    signal: options.signal,
    headers: headersFor(options),
  });
}
