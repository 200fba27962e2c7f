/** What sharing a link did. */
export type ShareOutcome = "shared" | "copied" | "cancelled" | "failed";

export type ShareData = { title: string; text?: string; url: string };

/** The parts of `navigator` sharing uses; each may be missing. */
export type ShareNavigator = {
  share?: (data: ShareData) => Promise<void>;
  canShare?: (data: ShareData) => boolean;
  clipboard?: { writeText: (text: string) => Promise<void> };
};

/** Whether this browser has a share sheet that takes `data`. */
export function canShareNatively(data: ShareData, nav: ShareNavigator = navigator as ShareNavigator): boolean {
  if (typeof nav.share !== "function") return false;
  if (typeof nav.canShare === "function") {
    try {
      return nav.canShare(data);
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Opens the system's share sheet where there is one; elsewhere copies the link. A share
 * sheet closed without sharing is `cancelled`, not a failure.
 */
export async function shareOrCopy(
  data: ShareData,
  nav: ShareNavigator = navigator as ShareNavigator,
): Promise<ShareOutcome> {
  if (canShareNatively(data, nav)) {
    try {
      await nav.share!(data);
      return "shared";
    } catch (error) {
      if (typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError") {
        return "cancelled";
      }
      // Refused (no user gesture, policy): copying still helps.
    }
  }
  try {
    if (!nav.clipboard) return "failed";
    await nav.clipboard.writeText(data.url);
    return "copied";
  } catch {
    return "failed";
  }
}
