/**
 * Server-sent events (`text/event-stream`) read by hand. `EventSource` cannot send
 * headers, and some streams need one (an edit token never goes in a URL), so they are
 * fetched like any request and their body is parsed here, as the HTML standard describes:
 * lines end in CRLF, LF or CR; `:` starts a comment; `data` lines join with "\n"; a blank
 * line ends an event.
 */

/** One event of a stream. */
export type SseEvent = {
  /** The `event` field; `message` when the event names none. */
  event: string;
  data: string;
  /** The last `id` the stream set, if any. */
  id: string | null;
};

const LINE_END = /\r\n|\r|\n/g;

/**
 * Turns the text of a stream, in chunks of any size, into events. A chunk may end
 * anywhere: inside a line, between the CR and LF of one line end, or between two events.
 */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private type = "";
  private lastId: string | null = null;
  private started = false;
  /** The previous chunk ended in CR: a LF opening the next one ends no second line. */
  private afterCR = false;

  /** Reads `text`, returns the events it completes, oldest first. */
  push(text: string): SseEvent[] {
    let chunk = text;
    if (this.afterCR && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.afterCR = false;
    if (chunk === "") return [];
    if (!this.started) {
      this.started = true;
      if (chunk.startsWith("\uFEFF")) chunk = chunk.slice(1);
    }
    this.buffer += chunk;

    const events: SseEvent[] = [];
    let start = 0;
    LINE_END.lastIndex = 0;
    for (let match = LINE_END.exec(this.buffer); match; match = LINE_END.exec(this.buffer)) {
      // A CR that ends the text may be the first half of a CRLF still on its way.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) this.afterCR = true;
      const event = this.line(this.buffer.slice(start, match.index));
      if (event) events.push(event);
      start = match.index + match[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /**
   * The stream is over. An event that never got its closing blank line is dropped, as
   * browsers drop it.
   */
  end(): void {
    this.buffer = "";
    this.data = [];
    this.type = "";
    this.afterCR = false;
  }

  private line(line: string): SseEvent | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.type = value;
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
    // `retry` and unknown fields are ignored: reconnecting is the caller's business.
    return null;
  }

  private dispatch(): SseEvent | null {
    const data = this.data;
    const type = this.type;
    this.data = [];
    this.type = "";
    if (data.length === 0) return null;
    return { event: type || "message", data: data.join("\n"), id: this.lastId };
  }
}

/**
 * Reads a stream's body to its end, handing each event to `onEvent` and telling
 * `onActivity` of every chunk that arrives (keep-alive comments included), so a caller
 * can notice a stream gone silent. Rejects as the body's reader does, e.g. on abort.
 */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: SseEvent) => void,
  onActivity?: () => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onActivity?.();
      for (const event of parser.push(decoder.decode(value, { stream: true }))) onEvent(event);
    }
    for (const event of parser.push(decoder.decode())) onEvent(event);
    parser.end();
  } finally {
    reader.releaseLock();
  }
}
