import { useEffect, useRef, useState } from "react";

import { CopyButton } from "@/components/ui/copy-button";
import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { pageUrl, paths } from "@/config/paths";
import { deletePage } from "@/features/pages/api/delete-page";
import { getPageHistory } from "@/features/pages/api/get-page-history";
import { restorePage } from "@/features/pages/api/restore-page";
import { updatePage } from "@/features/pages/api/update-page";
import { PageHistory } from "@/features/pages/components/page-history";
import { ContentFields } from "@/features/pages/components/content-fields";
import { ContentPreview } from "@/features/pages/components/content-preview";
import { DownloadPage } from "@/features/pages/components/download-page";
import { MomentsEditor } from "@/features/pages/components/moments-editor";
import { NotifyEmailForm } from "@/features/pages/components/notify-email-form";
import type { Page, PageContent } from "@/features/pages/types/page";
import {
  changesBetween,
  contentOf,
  fieldErrorsFrom,
  hasErrors,
  validateContent,
  type ContentErrors,
  type TextField,
} from "@/features/pages/utils/content-rules";
import { InsightsPanel } from "@/features/insights/components/insights-panel";
import { useInsights } from "@/features/insights/hooks/use-insights";
import { ShareKit } from "@/features/sharing/components/share-kit";
import { TemplatePicker } from "@/features/templates/components/template-picker";
import { ApiError, errorMessage } from "@/lib/api-client";
import { useResource } from "@/lib/use-resource";
import { EditFeedbackNotice, type EditFeedback } from "@/features/pages/components/edit-feedback";

type EditorProps = {
  initialPage: Page;
  token: string;
  onDeleted: () => void;
  onTokenRejected: () => void;
};

type Feedback = EditFeedback;

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** The page's fields with a live preview; save, the page's history, download and delete. */
export function Editor({ initialPage, token, onDeleted, onTokenRejected }: EditorProps) {
  const [page, setPage] = useState(initialPage);
  const [content, setContent] = useState<PageContent>(() => contentOf(initialPage));
  const [serverErrors, setServerErrors] = useState<ContentErrors>({});
  const [saving, setSaving] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [restored, setRestored] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const insights = useInsights(page.slug, token);
  const history = useResource(
    (signal) => getPageHistory(page.slug, token, signal),
    [page.slug, token, page.updated_at],
  );

  const changes = changesBetween(page, content);
  const dirty = Object.keys(changes).length > 0;
  const localErrors = validateContent(content);
  const errors: ContentErrors = { ...serverErrors, ...localErrors };

  // Leaving with unsaved changes asks first.
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
  }, [confirming]);

  const update = (next: Partial<PageContent>) => {
    setContent((c) => ({ ...c, ...next }));
    setFeedback(null);
    setServerErrors((e) => {
      const rest = { ...e };
      for (const field of Object.keys(next)) delete rest[field as TextField];
      return rest;
    });
  };

  const save = async () => {
    if (!dirty || saving) return;
    if (hasErrors(localErrors)) {
      setFeedback({ tone: "error", text: "Please fix the highlighted fields first." });
      return;
    }
    setSaving(true);
    setFeedback(null);
    try {
      const saved = await updatePage(page.slug, changes, token);
      setPage(saved);
      setContent(contentOf(saved));
      setFeedback({ tone: "success", text: "Saved! Visitors see the new version now." });
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) {
        setServerErrors(fieldErrorsFrom(error.errors));
        setFeedback({ tone: "error", text: error.detail });
      } else if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        setFeedback({ tone: "error", text: "Your edit link is no longer accepted for this page.", tokenProblem: true });
      } else {
        setFeedback({ tone: "error", text: errorMessage(error) });
      }
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    setDeleting(true);
    setDeleteError(null);
    try {
      await deletePage(page.slug, token);
      onDeleted();
    } catch (error) {
      setDeleting(false);
      if (error instanceof ApiError && error.status === 404) {
        onDeleted();
        return;
      }
      setDeleteError(errorMessage(error));
    }
  };

  const restore = async (streamSequence: number) => {
    const saved = await restorePage(page.slug, streamSequence, token);
    setPage(saved);
    setContent(contentOf(saved));
    setServerErrors({});
    setFeedback(null);
    setRestored(true);
  };

  const share = pageUrl(page.slug);
  const takenDownAt = page.taken_down ? new Date(page.taken_down.at) : null;
  const updated = new Date(page.updated_at ?? page.created_at);

  return (
    <div className="editor" data-testid="editor">
      <header className="editor-header">
        <h1 className="screen-title">Edit your page</h1>
        <p className="editor-meta">
          <a href={paths.page(page.slug)} target="_blank" rel="noopener" data-testid="view-page">
            /{page.slug}
          </a>
          <span className="muted">
            {" "}
            · {page.view_count === 1 ? "1 view" : `${page.view_count} views`}
            {Number.isNaN(updated.getTime()) ? "" : ` · last changed ${when.format(updated)}`}
          </span>
        </p>
        <CopyButton
          text={share}
          label="Copy share link"
          className="button button--ghost button--small"
          testId="copy-share-link"
        />
      </header>

      {page.taken_down && takenDownAt && (
        <Notice tone="warning" title="Your page was taken down by its moderators" testId="taken-down-banner">
          <p>
            {Number.isNaN(takenDownAt.getTime()) ? page.taken_down.at : when.format(takenDownAt)}, for this reason: “
            {page.taken_down.reason}”
          </p>
          <p>Only you can see it now. Visitors are told that it was taken down.</p>
        </Notice>
      )}

      <section className="editor-section" aria-labelledby="insights-heading" data-testid="insights-section">
        <h2 id="insights-heading" className="section-title">
          Insights
        </h2>
        {insights.refused ? (
          <Notice tone="error" testId="insights-error">
            {insights.refused.status === 404 ? (
              <p>This page is no longer here.</p>
            ) : (
              <>
                <p>Your edit link is no longer accepted for this page.</p>
                <button type="button" className="button button--small" onClick={onTokenRejected}>
                  Enter another link
                </button>
              </>
            )}
          </Notice>
        ) : insights.insights ? (
          <InsightsPanel insights={insights.insights} templateId={page.template_id} link={insights.link} />
        ) : (
          <p className="muted" data-testid="insights-loading">
            <Spinner label="Loading insights" /> {insights.problem ?? "Loading…"}
          </p>
        )}
      </section>

      <section className="editor-section" aria-labelledby="notify-heading" data-testid="notifications">
        <h2 id="notify-heading" className="section-title">
          Notifications
        </h2>
        <NotifyEmailForm
          slug={page.slug}
          token={token}
          current={insights.insights ? insights.insights.notify_email : undefined}
          onTokenRejected={onTokenRejected}
        />
      </section>

      <form
        className="editor-form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <section className="editor-section" aria-labelledby="design-heading">
          <h2 id="design-heading" className="section-title">
            Design
          </h2>
          <TemplatePicker
            name="edit-template"
            value={content.template_id}
            onChange={(id) => update({ template_id: id })}
          />
        </section>

        <section className="editor-section" aria-labelledby="words-heading">
          <h2 id="words-heading" className="section-title">
            Words
          </h2>
          <div className="compose">
            <ContentFields content={content} errors={errors} onChange={update} />
            <ContentPreview content={content} />
          </div>
        </section>

        <div className="editor-actions" data-sticky={dirty ? "true" : undefined}>
          <EditFeedbackNotice feedback={feedback} testId="save-feedback" onTokenRejected={onTokenRejected} />
          <div className="button-row">
            <button
              type="submit"
              className="button button--primary"
              disabled={!dirty || saving}
              data-testid="save-page"
            >
              {saving ? (
                <>
                  <Spinner label="Saving" /> Saving…
                </>
              ) : dirty ? (
                "Save changes"
              ) : (
                "No changes to save"
              )}
            </button>
            {dirty && (
              <button
                type="button"
                className="button button--ghost"
                onClick={() => (setContent(contentOf(page)), setServerErrors({}))}
                data-testid="discard-changes"
              >
                Discard changes
              </button>
            )}
          </div>
        </div>
      </form>

      <section className="editor-section" aria-labelledby="special-heading" data-testid="special-section">
        <h2 id="special-heading" className="section-title">
          Make it special
        </h2>
        <MomentsEditor
          page={page}
          token={token}
          onSaved={(saved) => setPage(saved)}
          onTokenRejected={onTokenRejected}
        />
      </section>

      <div className="editor-section">
        <ShareKit slug={page.slug} link={share} previewUrl={`${paths.page(page.slug)}/og.png`} />
      </div>

      <section className="editor-section" aria-labelledby="history-heading">
        <h2 id="history-heading" className="section-title">
          History
        </h2>
        {history.resource.state === "loading" && <Spinner label="Loading history" />}
        {history.resource.state === "failed" && (
          <Notice tone="error">
            <p>{errorMessage(history.resource.error)}</p>
            <button type="button" className="button button--small" onClick={history.reload}>
              Try again
            </button>
          </Notice>
        )}
        {restored && (
          <Notice tone="success" testId="restore-feedback">
            <p>Restored. Visitors see that version now, and the history shows the restore as a new change.</p>
          </Notice>
        )}
        {history.resource.state === "ready" && (
          <PageHistory events={history.resource.data.events} onRestore={restore} />
        )}
      </section>

      <section className="editor-section" aria-labelledby="download-heading">
        <h2 id="download-heading" className="section-title">
          Keep a copy
        </h2>
        <DownloadPage slug={page.slug} token={token} />
      </section>

      <section className="editor-section danger-zone" aria-labelledby="delete-heading">
        <h2 id="delete-heading" className="section-title">
          Delete this page
        </h2>
        {!confirming ? (
          <>
            <p>The page disappears for everyone and its address becomes free for anyone to use.</p>
            <button
              type="button"
              className="button button--danger"
              onClick={() => setConfirming(true)}
              data-testid="delete-page"
            >
              Delete page…
            </button>
          </>
        ) : (
          <div
            className="confirm"
            role="group"
            aria-labelledby="confirm-delete-text"
            data-testid="confirm-delete-panel"
          >
            <p id="confirm-delete-text">
              <strong>Delete /{page.slug} for good?</strong> This can't be undone.
            </p>
            {deleteError && <Notice tone="error">{deleteError}</Notice>}
            <div className="button-row">
              <button
                ref={confirmRef}
                type="button"
                className="button button--danger"
                onClick={() => void remove()}
                disabled={deleting}
                data-testid="confirm-delete"
              >
                {deleting ? "Deleting…" : "Yes, delete it"}
              </button>
              <button
                type="button"
                className="button button--ghost"
                onClick={() => setConfirming(false)}
                disabled={deleting}
                data-testid="cancel-delete"
              >
                Keep it
              </button>
            </div>
          </div>
        )}
      </section>
    </div>
  );
}
