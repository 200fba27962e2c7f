/** The API's slug length limits, in characters. */
export const SLUG_MIN = 3;
export const SLUG_MAX = 50;

/**
 * The first format rule `slug` breaks, in the API's own order and words, or `null`.
 * Checking format here saves a request (and rate-limit quota) for what cannot be a slug;
 * reserved words and taken slugs are for the API to say.
 */
export function slugFormatProblem(slug: string): string | null {
  if (!/^[A-Za-z0-9-]*$/.test(slug)) return "Slug can only contain letters, numbers and hyphens";
  if (slug.length < SLUG_MIN) return `Slug must be at least ${SLUG_MIN} characters`;
  if (slug.length > SLUG_MAX) return `Slug must be at most ${SLUG_MAX} characters`;
  if (slug.startsWith("-") || slug.endsWith("-")) return "Slug must start and end with a letter or number";
  return null;
}
