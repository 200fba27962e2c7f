import { env } from "@/config/env";
import { ApiError, segment, toApiError } from "@/lib/api-client";

/** Where the QR code of a page's link is drawn (`GET /api/pages/{slug}/qr.svg`). */
export function qrCodeUrl(slug: string): string {
  return `${env.API_URL}/api/pages/${segment(slug)}/qr.svg`;
}

/** The QR code as an SVG file, to save. */
export async function getQrCode(slug: string, signal?: AbortSignal): Promise<Blob> {
  let response: Response;
  try {
    response = await fetch(qrCodeUrl(slug), { headers: { Accept: "image/svg+xml" }, signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    throw new ApiError({ status: 0, code: "network", detail: "We couldn't reach Valentine. Please try again." });
  }
  if (!response.ok) throw await toApiError(response);
  const blob = await response.blob();
  return blob.type === "image/svg+xml" ? blob : new Blob([blob], { type: "image/svg+xml" });
}
