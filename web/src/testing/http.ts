import { vi } from "vitest";

/** A JSON answer as the API sends it. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export type Call = {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
  signal?: AbortSignal | null;
};

/**
 * Replaces `fetch` with `handler` and records every request, headers as a plain object
 * and the body parsed from JSON.
 */
export function mockFetch(handler: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const call: Call = {
      url: String(input),
      method: init.method ?? "GET",
      headers,
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
      signal: init.signal,
    };
    calls.push(call);
    return handler(call);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

/** A promise with its resolve and reject at hand, to answer requests in any order. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The fields an author sends to create the sample page. */
export const sampleNewPage = {
  slug: "AliceAndBob",
  title: "Will you be mine?",
  message: "Every day with you is my favourite day.",
  sender_name: "Bob",
  recipient_name: "Alice",
  template_id: "proposal",
};

export const samplePage = {
  id: 2,
  ...sampleNewPage,
  photo: null,
  song: null,
  reveal_at: null,
  has_pin: false,
  locked: null,
  created_at: "2026-11-25T11:41:08.756060515Z",
  updated_at: "2026-11-25T11:41:08.756060515Z",
  view_count: 3,
  taken_down: null,
};

/** The sample page's history: its creation. */
export const sampleHistory = {
  slug: samplePage.slug,
  page_id: samplePage.id,
  events: [
    {
      sequence: 1,
      stream_sequence: 2,
      event_type: "PageCreated",
      occurred_at: samplePage.created_at,
      changed_fields: ["title", "message"],
    },
  ],
};

/** The sample page's export: the page and its creation, as `GET /api/pages/{slug}/export` answers. */
export const sampleExport = {
  slug: samplePage.slug,
  page_id: samplePage.id,
  exported_at: "2026-12-02T12:00:00Z",
  page: samplePage,
  events: [
    {
      sequence: 1,
      stream_sequence: 2,
      event_type: "PageCreated",
      event_version: "1.0",
      occurred_at: samplePage.created_at,
      command_id: "01JKZ3V6C4QG2T8X5N1M7B9R0D",
      data: sampleNewPage,
    },
  ],
};

/**
 * A `text/event-stream` answer to write to while the app reads it. Each `response(call)`
 * opens a new stream (the latest one is written to); aborting the call ends it with an
 * error, as a real aborted fetch does.
 */
export function eventStream() {
  const encoder = new TextEncoder();
  let current: ReadableStreamDefaultController<Uint8Array> | null = null;
  let opened = 0;
  return {
    response(call: Call): Response {
      opened += 1;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          current = controller;
          call.signal?.addEventListener("abort", () => {
            try {
              controller.error(call.signal?.reason ?? new DOMException("aborted", "AbortError"));
            } catch {
              // Already closed.
            }
          });
        },
      });
      return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
    },
    /** Writes raw text to the latest stream. */
    send(text: string): void {
      current?.enqueue(encoder.encode(text));
    },
    /** Writes one event with `data` as JSON. */
    event(name: string, data: unknown): void {
      this.send(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    /** Ends the latest stream, as a server closing it. */
    close(): void {
      current?.close();
      current = null;
    },
    get opened(): number {
      return opened;
    },
  };
}

/** The sample page's insights: not opened, not answered, no address. */
export const sampleInsights = {
  first_opened_at: null,
  views_total: 0,
  views_by_day: [],
  answer: null,
  notify_email: null,
};

/** The sample page's photo, as the API describes it. */
export const samplePhoto = {
  url: "/api/pages/AliceAndBob/photo?v=0123456789abcdef",
  content_type: "image/jpeg",
  width: 1200,
  height: 900,
};

/** The sample page's song. */
export const sampleSong = {
  url: "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
  service: "spotify",
  embed_url: "https://open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC",
};

/** The sample page read before its time: only who it is for and when it opens. */
export function sampleLockedPage(revealAt: string, extra: Record<string, unknown> = {}) {
  return {
    id: samplePage.id,
    slug: samplePage.slug,
    template_id: samplePage.template_id,
    sender_name: samplePage.sender_name,
    recipient_name: samplePage.recipient_name,
    reveal_at: revealAt,
    has_pin: false,
    locked: "scheduled",
    created_at: samplePage.created_at,
    updated_at: samplePage.updated_at,
    view_count: 1,
    ...extra,
  };
}
