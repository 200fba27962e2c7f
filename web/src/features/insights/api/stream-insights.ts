import { env } from "@/config/env";
import { ApiError, segment, toApiError } from "@/lib/api-client";
import { readEventStream } from "@/lib/sse";

import { insightsSchema, type Insights } from "../types/insights";

export type StreamInsightsOptions = {
  signal: AbortSignal;
  /** Each `insights` event: at once, then whenever something changes. */
  onInsights: (insights: Insights) => void;
  /** Anything arrived, keep-alive comments included. */
  onActivity?: () => void;
};

function unexpected(status: number): ApiError {
  return new ApiError({
    status,
    code: "unexpected_response",
    detail: "The server sent an answer we didn't understand. Please try again.",
  });
}

/**
 * `GET /api/pages/{slug}/insights/stream` with the page's edit token, read until the
 * server ends it. `EventSource` cannot send the token (it never goes in a URL), so this
 * is a plain `fetch` whose body is parsed as it arrives.
 *
 * @throws ApiError for a refusal (`401`, `403`, `404`, …), no answer, or a stream that is
 *   not one or carries an event of the wrong shape; an abort rejects with its own error.
 */
export async function streamInsights(
  slug: string,
  editToken: string,
  { signal, onInsights, onActivity }: StreamInsightsOptions,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${env.API_URL}/api/pages/${segment(slug)}/insights/stream`, {
      headers: { Accept: "text/event-stream", "X-Edit-Token": editToken },
      cache: "no-store",
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    throw new ApiError({ status: 0, code: "network", detail: "We couldn't reach Valentine." });
  }
  if (!response.ok) throw await toApiError(response);
  const type = response.headers.get("Content-Type") ?? "";
  if (!response.body || !type.startsWith("text/event-stream")) throw unexpected(response.status);

  await readEventStream(
    response.body,
    (event) => {
      if (event.event !== "insights") return;
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        throw unexpected(response.status);
      }
      const parsed = insightsSchema.safeParse(data);
      if (!parsed.success) throw unexpected(response.status);
      onInsights(parsed.data);
    },
    onActivity,
  );
}
