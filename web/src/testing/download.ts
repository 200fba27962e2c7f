import { vi } from "vitest";

export type Download = { fileName: string; url: string; blob: Blob };

/**
 * Catches files the app hands to the browser: object URLs are made up (`blob:test/1`, …)
 * and remembered with their blob, and a click on a download link records the download
 * instead of navigating (which jsdom cannot do).
 */
export function mockDownloads() {
  const blobs = new Map<string, Blob>();
  const downloads: Download[] = [];
  const createObjectURL = vi.spyOn(URL, "createObjectURL").mockImplementation((blob) => {
    const url = `blob:test/${blobs.size + 1}`;
    blobs.set(url, blob as Blob);
    return url;
  });
  const revokeObjectURL = vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => undefined);
  const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    const blob = blobs.get(this.href);
    if (this.download && blob) downloads.push({ fileName: this.download, url: this.href, blob });
  });
  return { downloads, createObjectURL, revokeObjectURL, click };
}
