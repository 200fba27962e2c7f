import { useEffect, useRef, useState } from "react";

import { errorMessage } from "@/lib/api-client";
import { saveBlobFile } from "@/lib/save-file";

import { getQrCode, qrCodeUrl } from "../api/get-qr-code";
import { canShareNatively, shareOrCopy, type ShareOutcome } from "../utils/share-link";

type ShareKitProps = {
  slug: string;
  /** The page's address to share. */
  link: string;
  /** The page's link preview image (`/<slug>/og.png`), shown as "how your link will look". */
  previewUrl?: string;
};

const SAY: Record<ShareOutcome, string> = {
  shared: "Shared ♥",
  copied: "Link copied!",
  cancelled: "",
  failed: "Copying isn't allowed here: select the link and copy it yourself.",
};

/**
 * Ways to pass the page on: the system's share sheet (or a copy of the link where there is
 * none), a QR code to show or print, and a look at the link's preview.
 */
export function ShareKit({ slug, link, previewUrl }: ShareKitProps) {
  const [said, setSaid] = useState("");
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [previewOk, setPreviewOk] = useState(true);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const data = { title: "A valentine for you", text: "I made something for you ♥", url: link };
  const native = canShareNatively(data);

  const share = async () => {
    window.clearTimeout(timer.current);
    const outcome = await shareOrCopy(data);
    setSaid(SAY[outcome]);
    timer.current = window.setTimeout(() => setSaid(""), 3000);
  };

  const downloadQr = async () => {
    setSaving(true);
    setSaveError(null);
    try {
      saveBlobFile(`${slug}-qr.svg`, await getQrCode(slug));
    } catch (error) {
      setSaveError(errorMessage(error));
    } finally {
      setSaving(false);
    }
  };

  return (
    <section className="share-kit" aria-labelledby="share-kit-heading" data-testid="share-kit">
      <h2 id="share-kit-heading" className="section-title">
        Send it
      </h2>
      <div className="share-kit-body">
        <figure className="share-qr">
          <img
            src={qrCodeUrl(slug)}
            width={160}
            height={160}
            alt={`QR code of the link to /${slug}`}
            data-testid="share-qr"
          />
          <figcaption className="muted">Scan to open</figcaption>
        </figure>
        <div className="share-kit-actions">
          <button
            type="button"
            className="button button--primary"
            onClick={() => void share()}
            data-testid="share-link-button"
          >
            {native ? "Share…" : "Copy link"}
          </button>
          <button
            type="button"
            className="button button--ghost"
            onClick={() => void downloadQr()}
            disabled={saving}
            data-testid="download-qr"
          >
            {saving ? "Saving…" : "Download QR code"}
          </button>
          <p className="share-kit-said" aria-live="polite" data-testid="share-outcome">
            {said}
          </p>
          {saveError && (
            <p className="field-error" role="alert">
              {saveError}
            </p>
          )}
        </div>
      </div>
      {previewUrl && previewOk && (
        <figure className="share-preview">
          <figcaption className="field-label">How your link will look</figcaption>
          <img
            src={previewUrl}
            width={1200}
            height={630}
            loading="lazy"
            alt="The preview picture that messaging apps show with your link"
            onError={() => setPreviewOk(false)}
            data-testid="share-preview"
          />
        </figure>
      )}
    </section>
  );
}
