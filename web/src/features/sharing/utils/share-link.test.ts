import { describe, expect, it, vi } from "vitest";

import { canShareNatively, shareOrCopy, type ShareNavigator } from "./share-link";

const data = { title: "A valentine for you", url: "https://valentine.example/AliceAndBob" };

describe("shareOrCopy", () => {
  it("opens the share sheet where there is one", async () => {
    const nav: ShareNavigator = { share: vi.fn(async () => undefined), clipboard: { writeText: vi.fn() } };
    await expect(shareOrCopy(data, nav)).resolves.toBe("shared");
    expect(nav.share).toHaveBeenCalledWith(data);
    expect(nav.clipboard?.writeText).not.toHaveBeenCalled();
  });

  it("copies the link where there is no share sheet, or it cannot take the link", async () => {
    const writeText = vi.fn(async () => undefined);
    await expect(shareOrCopy(data, { clipboard: { writeText } })).resolves.toBe("copied");
    const share = vi.fn(async () => undefined);
    await expect(shareOrCopy(data, { share, canShare: () => false, clipboard: { writeText } })).resolves.toBe("copied");
    expect(share).not.toHaveBeenCalled();
    expect(writeText).toHaveBeenCalledWith(data.url);
  });

  it("takes a closed share sheet as a change of mind", async () => {
    const share = vi.fn(async () => {
      throw new DOMException("cancelled", "AbortError");
    });
    const writeText = vi.fn(async () => undefined);
    await expect(shareOrCopy(data, { share, clipboard: { writeText } })).resolves.toBe("cancelled");
    expect(writeText).not.toHaveBeenCalled();
  });

  it("copies when the share sheet refuses, and fails only when nothing works", async () => {
    const share = vi.fn(async () => {
      throw new DOMException("no gesture", "NotAllowedError");
    });
    const writeText = vi.fn(async () => undefined);
    await expect(shareOrCopy(data, { share, clipboard: { writeText } })).resolves.toBe("copied");
    const deniedClipboard = { writeText: vi.fn(async () => Promise.reject(new Error("denied"))) };
    await expect(shareOrCopy(data, { clipboard: deniedClipboard })).resolves.toBe("failed");
    await expect(shareOrCopy(data, {})).resolves.toBe("failed");
  });
});

describe("canShareNatively", () => {
  it("feature-detects share and asks canShare where present", () => {
    expect(canShareNatively(data, {})).toBe(false);
    expect(canShareNatively(data, { share: async () => undefined })).toBe(true);
    expect(canShareNatively(data, { share: async () => undefined, canShare: () => false })).toBe(false);
    expect(
      canShareNatively(data, {
        share: async () => undefined,
        canShare: () => {
          throw new TypeError("bad");
        },
      }),
    ).toBe(false);
  });
});
