import { ApiError, apiData, errorMessage, segment } from "@/lib/api-client";

import { answerSchema, type Answer, type AnswerKind } from "../types/answer";

export type AnswerInput = { answer: AnswerKind; dodges: number };

/**
 * `POST /api/pages/{slug}/answer`: the visitor's reply. A page is answered once, by
 * anyone; a second answer is refused with `409 already_answered`.
 */
export function sendAnswer(
  slug: string,
  input: AnswerInput,
  { signal, pin }: { signal?: AbortSignal; pin?: string | null } = {},
): Promise<Answer> {
  return apiData(`/api/pages/${segment(slug)}/answer`, answerSchema, {
    method: "POST",
    body: input,
    headers: pin ? { "X-Page-Pin": encodeURIComponent(pin) } : undefined,
    signal,
  });
}

/** What a failed reply means for the visitor. */
export type AnswerFailure =
  /** Someone answered this page before: it is answered all the same. */
  | { kind: "already" }
  /** Sending it again will not help: the page is gone or takes no such reply. */
  | { kind: "refused"; message: string }
  /** No answer, an outage or a limit: it may work in a moment. */
  | { kind: "retry"; message: string };

export function answerFailure(error: unknown): AnswerFailure {
  if (!(error instanceof ApiError)) return { kind: "retry", message: errorMessage(error) };
  if (error.status === 409 && error.code === "already_answered") return { kind: "already" };
  if (error.status === 409 && error.code === "not_revealed") {
    return { kind: "retry", message: "This page hasn't opened yet. Try again once it has." };
  }
  if (error.status === 401) return { kind: "refused", message: "This page needs its PIN before it can be answered." };
  // The page's design changed to one that takes another reply.
  if (error.status === 409) return { kind: "refused", message: error.detail };
  if (error.status === 404)
    return { kind: "refused", message: "This page is no longer here, so no reply can be sent." };
  if (error.status === 422) return { kind: "refused", message: error.detail };
  if (error.status === 0 || error.status === 429 || error.status >= 500) {
    return { kind: "retry", message: errorMessage(error) };
  }
  return { kind: "retry", message: error.detail };
}
