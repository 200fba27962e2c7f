import { ApiError, apiRequest } from "@/lib/api-client";
import { sleep } from "@/lib/sleep";
import { z } from "@/lib/zod";

import { pageSchema, type Page } from "../types/page";

export type CreatePageInput = {
  slug: string;
  title: string;
  message: string;
  sender_name?: string;
  recipient_name?: string;
  template_id: string;
  /** Where to mail the first open and the answer; absent or `null` for no mails. */
  notify_email?: string | null;
  /** A link to a song on Spotify, YouTube, Apple Music or SoundCloud. */
  song_url?: string;
  /** When the page opens, RFC 3339 with an offset, in the future and within 366 days. */
  reveal_at?: string;
  /** 4 to 64 characters the visitor must type to see the page. */
  pin?: string;
};

/** `201`: the page is live. */
export type PageCreated = { kind: "created"; page: Page; editToken: string; url: string };
/** `202`: the page is stored and will be live shortly; poll the job. */
export type PageQueued = { kind: "queued"; jobId: string; message: string; editToken: string };

const createdSchema = z.object({ page: pageSchema, edit_token: z.string(), url: z.string() });
const queuedSchema = z.object({
  job_id: z.string(),
  status: z.string(),
  message: z.optional(z.string()),
  edit_token: z.string(),
});
const answerSchema = z.union([createdSchema, queuedSchema]);

export type CreatePageOptions = {
  /** Sent as `Idempotency-Key`; the same key on every attempt of this one create. */
  idempotencyKey: string;
  signal?: AbortSignal;
  /** How many times to resend after no answer or a passing outage (`503`). */
  retries?: number;
  /** Wait before a resend when the answer names none. */
  retryDelayMs?: number;
};

/**
 * `POST /api/pages`. Resends the same request, with the same `Idempotency-Key`, when no
 * answer came or the service was briefly unavailable: the API then returns the first
 * attempt's result instead of creating a second page.
 */
export async function createPage(
  input: CreatePageInput,
  { idempotencyKey, signal, retries = 2, retryDelayMs = 1000 }: CreatePageOptions,
): Promise<PageCreated | PageQueued> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const { data } = await apiRequest("/api/pages", answerSchema, {
        method: "POST",
        body: input,
        headers: { "Idempotency-Key": idempotencyKey },
        signal,
      });
      if ("page" in data) {
        return { kind: "created", page: data.page, editToken: data.edit_token, url: data.url };
      }
      return {
        kind: "queued",
        jobId: data.job_id,
        message: data.message ?? "Your page is saved and will be live in a moment",
        editToken: data.edit_token,
      };
    } catch (error) {
      if (!(error instanceof ApiError) || !error.transient || attempt >= retries) throw error;
      const waitMs = error.retryAfter !== null ? error.retryAfter * 1000 : retryDelayMs;
      await sleep(Math.min(waitMs, 10_000), signal);
    }
  }
}
