import { z } from "@/lib/zod";

/**
 * Build-time settings, read from `VITE_*` variables and checked once at start, so that a
 * misconfigured build fails loudly instead of sending requests to the wrong place.
 */
const schema = z.object({
  /** Where the API lives. Empty (the default) means the origin that served the app. */
  API_URL: z
    .pipe(
      z._default(z.string(), ""),
      z.transform((value) => value.trim().replace(/\/+$/, "")),
    )
    .check(
      z.refine((value) => value === "" || /^https?:\/\/[^\s/]+(\/\S*)?$/.test(value), {
        message: "VITE_API_URL must be empty or an http(s) URL",
      }),
    ),
});

export type Env = z.output<typeof schema>;

export function parseEnv(source: Record<string, unknown>): Env {
  const result = schema.safeParse({ API_URL: source.VITE_API_URL });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => issue.message).join("; ");
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return result.data;
}

export const env: Env = parseEnv(import.meta.env);
