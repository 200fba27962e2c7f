import { env } from "@/config/env";

import { sleep } from "./sleep";
import { MIN_POSITION_HEADER, POSITION_HEADER, lastWritePosition, rememberWritePosition } from "./write-position";
import { z } from "./zod";

/** One broken rule of a `422` answer. */
export type FieldError = { field: string; message: string };

type ApiErrorInit = {
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  retryAfter?: number | null;
};

/**
 * A request that did not succeed, carrying what the API said about it. `status` is `0`
 * when no answer came at all (offline, DNS, connection refused).
 */
export class ApiError extends Error {
  readonly status: number;
  /** A sentence fit to show to people. */
  readonly detail: string;
  /** A stable identifier for programs: `slug_taken`, `rate_limited`, `network`, … */
  readonly code: string;
  /** Each broken rule, on `422`. */
  readonly errors: FieldError[];
  /** Seconds to wait before trying again, from `Retry-After`. */
  readonly retryAfter: number | null;

  constructor(init: ApiErrorInit) {
    super(init.detail);
    this.name = "ApiError";
    this.status = init.status;
    this.detail = init.detail;
    this.code = init.code;
    this.errors = init.errors ?? [];
    this.retryAfter = init.retryAfter ?? null;
  }

  /** Whether sending the very same request again may work: no answer, or a passing outage. */
  get transient(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

const errorBodySchema = z.object({
  detail: z.string(),
  code: z.optional(z.string()),
  errors: z.optional(z.array(z.object({ field: z.string(), message: z.string() }))),
});

const fallbackCodes: Record<number, string> = {
  400: "bad_request",
  401: "missing_token",
  403: "wrong_token",
  404: "not_found",
  405: "method_not_allowed",
  409: "slug_taken",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "invalid",
  429: "rate_limited",
  500: "internal",
  503: "unavailable",
};

function fallbackDetail(status: number): string {
  if (status === 429) return "Too many requests; please wait a moment and try again";
  if (status === 404) return "Not found";
  if (status >= 500) return "The server is having trouble; please try again in a moment";
  return "The request could not be completed";
}

/**
 * Reads `Retry-After`: either whole seconds or an HTTP date. Anything else, or nothing,
 * is `null`.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (text === "" || !/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Builds the typed error for an answer that is not a success, whatever its body. */
export async function toApiError(response: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  let body: unknown = null;
  try {
    const text = await response.text();
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  const parsed = errorBodySchema.safeParse(body);
  const status = response.status;
  if (parsed.success) {
    return new ApiError({
      status,
      detail: parsed.data.detail,
      code: parsed.data.code ?? fallbackCodes[status] ?? "error",
      errors: parsed.data.errors ?? [],
      retryAfter,
    });
  }
  return new ApiError({
    status,
    detail: fallbackDetail(status),
    code: fallbackCodes[status] ?? "error",
    retryAfter,
  });
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export type RequestOptions = {
  method?: Method;
  /** Sent as JSON when present. */
  body?: unknown;
  /** Sent as is, with its own content type (a photo); instead of `body`. */
  rawBody?: { data: Blob; contentType: string };
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * For reads: whether to name this browser's latest write position (default yes). A read
   * that reports progress itself, such as a job's status, does without.
   */
  sync?: boolean;
};

export type ApiResponse<T> = { status: number; data: T; headers: Headers };

/** A path segment, percent-encoded, so that a `/` or `?` in user input stays inside it. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/** How many times a read is sent again while the server answering it catches up. */
const BEHIND_RETRIES = 5;

/**
 * Sends one request to the API and checks the answer's shape against `schema`.
 *
 * Reads name the position of this browser's latest write; a server that has not caught up
 * with it yet answers `503 behind`, and the read is sent again (after `Retry-After`) a few
 * times before that counts as a failure. Write answers' positions are remembered.
 *
 * @throws ApiError for any answer outside 2xx, for no answer, and for an answer of an
 *   unexpected shape; an abort rejects with the abort's own error instead.
 */
export async function apiRequest<T>(
  path: string,
  schema: z.ZodMiniType<T>,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  const init: RequestInit = { method, headers, signal: options.signal };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  } else if (options.rawBody !== undefined) {
    headers["Content-Type"] = options.rawBody.contentType;
    init.body = options.rawBody.data;
  }
  const position = method === "GET" && options.sync !== false ? lastWritePosition() : null;
  if (position !== null) headers[MIN_POSITION_HEADER] = String(position);

  let response: Response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(`${env.API_URL}${path}`, init);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      throw new ApiError({
        status: 0,
        code: "network",
        detail: "We couldn't reach Valentine. Check your connection and try again.",
      });
    }
    if (response.ok || position === null || response.status !== 503 || attempt >= BEHIND_RETRIES) break;
    const error = await toApiError(response);
    if (error.code !== "behind") throw error;
    await sleep((error.retryAfter ?? 1) * 1000, options.signal);
  }

  if (!response.ok) {
    throw await toApiError(response);
  }
  if (method !== "GET") rememberWritePosition(response.headers.get(POSITION_HEADER));

  let body: unknown;
  try {
    const text = await response.text();
    body = text === "" ? null : JSON.parse(text);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    body = undefined;
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new ApiError({
      status: response.status,
      code: "unexpected_response",
      detail: "The server sent an answer we didn't understand. Please try again.",
    });
  }
  return { status: response.status, data: parsed.data, headers: response.headers };
}

/** `apiRequest` for when only the body matters. */
export async function apiData<T>(path: string, schema: z.ZodMiniType<T>, options: RequestOptions = {}): Promise<T> {
  return (await apiRequest(path, schema, options)).data;
}

/** "12 seconds", "3 minutes", "about an hour": how long `Retry-After` asks to wait. */
export function describeWait(seconds: number): string {
  if (seconds <= 1) return "a second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes === 1) return "a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  return hours === 1 ? "about an hour" : `about ${hours} hours`;
}

/** A message for people about any failure, with the retry time when there is one. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) {
      const wait = error.retryAfter !== null ? describeWait(error.retryAfter) : "a little while";
      return `Whoa, that's a lot of love at once! Please try again in ${wait}.`;
    }
    return error.detail;
  }
  return "Something went wrong. Please try again.";
}
