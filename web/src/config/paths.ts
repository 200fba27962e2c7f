/** Every address the app links to, in one place. */
export const paths = {
  home: () => "/",
  createAt: (slug: string) => `/?slug=${encodeURIComponent(slug)}`,
  page: (slug: string) => `/${encodeURIComponent(slug)}`,
  edit: (slug: string) => `/${encodeURIComponent(slug)}/edit`,
  admin: () => "/admin",
  adminPage: (slug: string) => `/admin/pages/${encodeURIComponent(slug)}`,
  adminReports: () => "/admin/reports",
  adminStreams: () => "/admin/streams",
  adminHealth: () => "/admin/health",
} as const;

/** The absolute address of a page, on the origin that serves the app. */
export function pageUrl(slug: string, origin: string = window.location.origin): string {
  return `${origin}${paths.page(slug)}`;
}

/**
 * The author's private edit link. The token travels in the fragment, which browsers never
 * send to a server, so it stays out of every access log.
 */
export function editUrl(slug: string, token: string, origin: string = window.location.origin): string {
  return `${origin}${paths.edit(slug)}#token=${encodeURIComponent(token)}`;
}
