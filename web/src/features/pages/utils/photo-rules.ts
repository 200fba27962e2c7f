/** What the API takes as a photo: these types, up to 8 MiB; it re-encodes them itself. */
export const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"] as const;
export const PHOTO_MAX_BYTES = 8 * 1024 * 1024;

/** For the file picker's `accept`. */
export const PHOTO_ACCEPT = PHOTO_TYPES.join(",");

export type PhotoType = (typeof PHOTO_TYPES)[number];

export function isPhotoType(type: string): type is PhotoType {
  return (PHOTO_TYPES as readonly string[]).includes(type);
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Why `file` cannot be the page's photo, or `null` when it can be sent. The server still
 * looks inside it (a file may not be what its name says).
 */
export function photoProblem(file: { type: string; size: number; name?: string }): string | null {
  const type = file.type.toLowerCase();
  if (type === "image/heic" || type === "image/heif" || /\.hei[cf]$/i.test(file.name ?? "")) {
    return "HEIC photos can't be used yet. Choose a JPEG or PNG (on an iPhone, share the photo as “Most Compatible”).";
  }
  if (!isPhotoType(type)) return "Choose a photo in JPEG, PNG, WebP or GIF format.";
  if (file.size === 0) return "This file is empty. Choose another photo.";
  if (file.size > PHOTO_MAX_BYTES) {
    return `This photo is ${megabytes(file.size)}; photos can be at most 8 MB. Choose a smaller one.`;
  }
  return null;
}

/** What a refused upload means, from the API's code. */
export function photoRefusal(code: string, fallback: string): string {
  switch (code) {
    case "payload_too_large":
      return "This photo is too large: photos can be at most 8 MB.";
    case "unsupported_media_type":
      return "This file isn't a JPEG, PNG, WebP or GIF photo, whatever its name says.";
    case "too_many_pixels":
      return "This photo has too many pixels (at most 8192 on a side and 24 megapixels).";
    case "undecodable":
      return "This photo couldn't be read. It may be damaged; try another one.";
    default:
      return fallback;
  }
}
