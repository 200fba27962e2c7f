import { describe, expect, it } from "vitest";

import { PHOTO_ACCEPT, PHOTO_MAX_BYTES, photoProblem, photoRefusal } from "./photo-rules";

describe("photoProblem", () => {
  it.each(["image/jpeg", "image/png", "image/webp", "image/gif", "IMAGE/PNG"])("takes %s", (type) => {
    expect(photoProblem({ type, size: 1000 })).toBeNull();
  });

  it("takes a photo of exactly 8 MiB, not a byte more", () => {
    expect(photoProblem({ type: "image/jpeg", size: PHOTO_MAX_BYTES })).toBeNull();
    expect(photoProblem({ type: "image/jpeg", size: PHOTO_MAX_BYTES + 1 })).toMatch(/at most 8 MB/);
  });

  it("says kindly what is wrong with other files", () => {
    expect(photoProblem({ type: "image/svg+xml", size: 10 })).toMatch(/JPEG, PNG, WebP or GIF/);
    expect(photoProblem({ type: "", size: 10, name: "notes.txt" })).toMatch(/JPEG, PNG, WebP or GIF/);
    expect(photoProblem({ type: "image/heic", size: 10 })).toMatch(/HEIC/);
    expect(photoProblem({ type: "", size: 10, name: "IMG_0001.HEIC" })).toMatch(/HEIC/);
    expect(photoProblem({ type: "image/png", size: 0 })).toMatch(/empty/);
    expect(photoProblem({ type: "image/png", size: 20 * 1024 * 1024 })).toMatch(/20\.0 MB/);
  });

  it("offers the picker the same types", () => {
    expect(PHOTO_ACCEPT).toBe("image/jpeg,image/png,image/webp,image/gif");
  });
});

describe("photoRefusal", () => {
  it("explains each refusal of the API, and passes on others", () => {
    expect(photoRefusal("too_many_pixels", "x")).toMatch(/8192/);
    expect(photoRefusal("unsupported_media_type", "x")).toMatch(/isn't a JPEG/);
    expect(photoRefusal("undecodable", "x")).toMatch(/couldn't be read/);
    expect(photoRefusal("payload_too_large", "x")).toMatch(/8 MB/);
    expect(photoRefusal("rate_limited", "Slow down")).toBe("Slow down");
  });
});
