import { env } from "@/config/env";
import { ApiError, toApiError } from "@/lib/api-client";

export type GetPhotoOptions = {
  signal?: AbortSignal;
  pin?: string | null;
  /** The author's token: the author sees the photo before the page opens. */
  editToken?: string | null;
};

/**
 * The photo at `url` (the page's `photo.url`) as a blob. A page with a PIN needs it for
 * its photo too, which a plain `<img src>` cannot send; so the photo is fetched and shown
 * from an object URL.
 */
export async function getPhoto(url: string, { signal, pin, editToken }: GetPhotoOptions = {}): Promise<Blob> {
  const headers: Record<string, string> = {};
  if (pin) headers["X-Page-Pin"] = encodeURIComponent(pin);
  if (editToken) headers["X-Edit-Token"] = editToken;
  let response: Response;
  try {
    response = await fetch(`${env.API_URL}${url}`, { headers, signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    throw new ApiError({ status: 0, code: "network", detail: "The photo couldn't be loaded." });
  }
  if (!response.ok) throw await toApiError(response);
  return response.blob();
}
