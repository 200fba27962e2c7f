import { useEffect, useRef } from "react";
import { Link } from "react-router";

import { launchConfetti } from "@/components/effects/confetti";
import { Sparkles } from "@/components/effects/sparkles";
import { CopyButton } from "@/components/ui/copy-button";
import { Emblem } from "@/components/ui/emblem";
import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { editUrl, pageUrl, paths } from "@/config/paths";
import { usePhotoUpload, type PhotoUpload } from "@/features/pages/hooks/use-photo-upload";
import { ShareKit } from "@/features/sharing/components/share-kit";

type CreatedProps = {
  slug: string;
  editToken: string;
  /** False when the page is saved but was not yet live when waiting stopped. */
  live: boolean;
  /** The photo chosen while creating, sent now that the page exists. */
  photo?: File | null;
  onStartOver: () => void;
};

/** The page exists: its link to share, and the private link to edit it. */
export function Created({ slug, editToken, live, photo = null, onStartOver }: CreatedProps) {
  const { upload, retry } = usePhotoUpload(slug, editToken, photo);
  const share = pageUrl(slug);
  const edit = editUrl(slug, editToken);
  const celebrated = useRef(false);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    headingRef.current?.focus();
    if (celebrated.current) return;
    celebrated.current = true;
    launchConfetti();
  }, []);

  return (
    <section className="panel created" data-testid="created">
      <Emblem kind="letter" />
      <h1 className="screen-title" ref={headingRef} tabIndex={-1}>
        <Sparkles>Your valentine is ready!</Sparkles>
      </h1>
      {!live && (
        <Notice tone="info" title="Almost live" testId="not-live-yet">
          Your page is saved and will be live in a moment. If the link says it can't find the page, wait a few seconds
          and try again.
        </Notice>
      )}

      <div className="link-box">
        <label className="field-label" htmlFor="share-link">
          Share this link
        </label>
        <LinkRow
          id="share-link"
          link={share}
          copyTestId="copy-share-link"
          copyLabel="Copy link"
          copyClassName="button button--primary"
        />
        <div className="button-row">
          <Link
            className="button button--ghost"
            to={paths.page(slug)}
            target="_blank"
            rel="noopener"
            data-testid="open-page"
          >
            Open it
          </Link>
        </div>
      </div>

      {upload.state !== "none" && <PhotoUploadStatus upload={upload} onRetry={() => void retry()} />}

      <ShareKit slug={slug} link={share} previewUrl={`${paths.page(slug)}/og.png`} />

      <div className="link-box link-box--private">
        <label className="field-label" htmlFor="edit-link">
          Your private edit link
        </label>
        <Notice tone="warning" title="Keep this link to yourself" testId="edit-link-warning">
          It is the only way to change or delete your page, and we can't show it again. Anyone who has it can edit your
          page, so save it somewhere safe and don't share it.
        </Notice>
        <LinkRow id="edit-link" link={edit} copyTestId="copy-edit-link" copyLabel="Copy" />
      </div>

      <div className="button-row button-row--center">
        <button type="button" className="link-button" onClick={onStartOver} data-testid="start-over">
          Make another one
        </button>
      </div>
    </section>
  );
}

type LinkRowProps = {
  /** The input's id, also its test id. */
  id: string;
  link: string;
  copyTestId: string;
  copyLabel: string;
  copyClassName?: string;
};

/** A link in a read-only input that selects itself on focus, with a button to copy it. */
function LinkRow({ id, link, copyTestId, copyLabel, copyClassName }: LinkRowProps) {
  return (
    <div className="link-row">
      <input id={id} className="link-input" readOnly value={link} data-testid={id} onFocus={(e) => e.target.select()} />
      <CopyButton text={link} inputId={id} testId={copyTestId} className={copyClassName} label={copyLabel} />
    </div>
  );
}

/** How the photo chosen while creating is getting on: on its way, added, or not (with a retry). */
function PhotoUploadStatus({ upload, onRetry }: { upload: PhotoUpload; onRetry: () => void }) {
  return (
    <div className="photo-upload" data-testid="photo-upload" data-state={upload.state} aria-live="polite">
      {upload.state === "uploading" && (
        <p>
          <Spinner label="Adding your photo" /> Adding your photo…
        </p>
      )}
      {upload.state === "done" && <p className="photo-upload-done">Your photo is on the page ♥</p>}
      {upload.state === "failed" && (
        <Notice tone="error" title="Your photo wasn't added">
          <p>{upload.message} Your page is made all the same; you can also add a photo later from the edit link.</p>
          {upload.canRetry && (
            <button type="button" className="button button--small" onClick={onRetry} data-testid="retry-photo">
              Try again
            </button>
          )}
        </Notice>
      )}
    </div>
  );
}
