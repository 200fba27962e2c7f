import { describe, expect, it, vi } from "vitest";

import { mockDownloads } from "@/testing/download";

import { saveBlobFile, saveJsonFile } from "./save-file";

describe("saveJsonFile", () => {
  it("downloads the value as indented JSON under the given name", async () => {
    const { downloads } = mockDownloads();
    saveJsonFile("valentine-AliceAndBob-2026-12-02.json", { slug: "AliceAndBob", events: [{ sequence: 1 }] });
    expect(downloads).toHaveLength(1);
    expect(downloads[0]?.fileName).toBe("valentine-AliceAndBob-2026-12-02.json");
    expect(downloads[0]?.blob.type).toBe("application/json");
    expect(await downloads[0]?.blob.text()).toBe(
      '{\n  "slug": "AliceAndBob",\n  "events": [\n    {\n      "sequence": 1\n    }\n  ]\n}\n',
    );
  });

  it("leaves no link behind and frees the object URL afterwards", () => {
    vi.useFakeTimers();
    const { downloads, revokeObjectURL } = mockDownloads();
    saveJsonFile("a.json", {});
    expect(document.querySelectorAll("a[download]")).toHaveLength(0);
    expect(revokeObjectURL).not.toHaveBeenCalled();
    vi.runAllTimers();
    expect(revokeObjectURL).toHaveBeenCalledWith(downloads[0]?.url);
  });
});

describe("saveBlobFile", () => {
  it("downloads the blob as it is, under the given name", async () => {
    const { downloads } = mockDownloads();
    saveBlobFile("AliceAndBob-qr.svg", new Blob(["<svg/>"], { type: "image/svg+xml" }));
    expect(downloads.map((d) => d.fileName)).toEqual(["AliceAndBob-qr.svg"]);
    expect(downloads[0]?.blob.type).toBe("image/svg+xml");
    expect(await downloads[0]?.blob.text()).toBe("<svg/>");
  });
});
