import { describe, expect, it } from "vitest";

import { readEventStream, SseParser, type SseEvent } from "./sse";

/** Every event of `chunks`, fed one after another to one parser. */
function parse(...chunks: string[]): SseEvent[] {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

function bytes(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
}

describe("SseParser", () => {
  it("reads named events and plain messages", () => {
    expect(parse('event: insights\ndata: {"a":1}\n\ndata: hello\n\n')).toEqual([
      { event: "insights", data: '{"a":1}', id: null },
      { event: "message", data: "hello", id: null },
    ]);
  });

  it("puts together an event split across chunks anywhere, even inside a field name", () => {
    const text = 'event: insights\ndata: {"views_total":12}\n\n';
    for (let cut = 1; cut < text.length; cut += 1) {
      expect(parse(text.slice(0, cut), text.slice(cut))).toEqual([
        { event: "insights", data: '{"views_total":12}', id: null },
      ]);
    }
    expect(parse(...text.split(""))).toHaveLength(1);
  });

  it("accepts CRLF, CR and LF line ends, mixed, and a CRLF split between chunks", () => {
    expect(parse("event: a\r\ndata: 1\r\n\r\n", "event: b\rdata: 2\r\r", "data: 3\n\n")).toEqual([
      { event: "a", data: "1", id: null },
      { event: "b", data: "2", id: null },
      { event: "message", data: "3", id: null },
    ]);
    // The CR of each CRLF ends one chunk and its LF opens the next: still one line end each.
    expect(parse("data: x\r", "\n\r", "\n")).toEqual([{ event: "message", data: "x", id: null }]);
    expect(parse("data: x\r", "\n", "\r", "\n", "data: y\r\n\r\n")).toEqual([
      { event: "message", data: "x", id: null },
      { event: "message", data: "y", id: null },
    ]);
  });

  it("skips comments, keep-alives included, even between the lines of an event", () => {
    expect(parse(": keep-alive\n\n", "data: a\n: note\ndata: b\n\n", ":\n\n")).toEqual([
      { event: "message", data: "a\nb", id: null },
    ]);
  });

  it("joins multi-line data with newlines, keeping empty lines and spaces after the first", () => {
    expect(parse("data: one\ndata:\ndata:  two\ndata:three\n\n")).toEqual([
      { event: "message", data: "one\n\n two\nthree", id: null },
    ]);
  });

  it("dispatches nothing for an event without data, and forgets its name", () => {
    expect(parse("event: insights\n\ndata: x\n\n")).toEqual([{ event: "message", data: "x", id: null }]);
  });

  it("keeps the last id for the events after it", () => {
    expect(parse("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")).toEqual([
      { event: "message", data: "a", id: "7" },
      { event: "message", data: "b", id: "7" },
      { event: "message", data: "c", id: "" },
    ]);
  });

  it("ignores a byte order mark, unknown fields and retry", () => {
    expect(parse("\uFEFFretry: 3000\nfoo: bar\ndata: x\n\n")).toEqual([{ event: "message", data: "x", id: null }]);
  });

  it("drops an event the stream ended before finishing", () => {
    const parser = new SseParser();
    expect(parser.push("data: complete\n\ndata: cut off\n")).toHaveLength(1);
    parser.end();
    expect(parser.push("\n")).toEqual([]);
  });
});

describe("readEventStream", () => {
  it("decodes UTF-8 split inside a character and reports every chunk as activity", async () => {
    const heart = new TextEncoder().encode("data: ♥\n\n");
    const events: SseEvent[] = [];
    let activity = 0;
    await readEventStream(
      bytes(": keep-alive\n\n", heart.slice(0, 7), heart.slice(7)),
      (event) => events.push(event),
      () => (activity += 1),
    );
    expect(events).toEqual([{ event: "message", data: "♥", id: null }]);
    expect(activity).toBe(3);
  });

  it("rejects when the body fails", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("data: a\n\n"));
        controller.error(new TypeError("network"));
      },
    });
    const events: SseEvent[] = [];
    await expect(readEventStream(body, (event) => events.push(event))).rejects.toThrow("network");
  });
});
