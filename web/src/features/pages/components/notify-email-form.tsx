import { useEffect, useRef, useState } from "react";

import { Spinner } from "@/components/ui/spinner";
import { ApiError, errorMessage } from "@/lib/api-client";

import { updatePage } from "../api/update-page";
import { notifyEmailProblem, notifyEmailValue } from "../utils/content-rules";
import { NotifyEmailField } from "./notify-email-field";
import { EditFeedbackNotice, type EditFeedback } from "./edit-feedback";

type NotifyEmailFormProps = {
  slug: string;
  token: string;
  /** The address mails go to now; `undefined` while it is not known yet. */
  current: string | null | undefined;
  onTokenRejected: () => void;
};

type Feedback = EditFeedback;

/**
 * The address for mails about the page's first open and its answer: set, change or
 * remove it, each saved at once on its own (`PATCH notify_email`).
 */
export function NotifyEmailForm({ slug, token, current, onTokenRejected }: NotifyEmailFormProps) {
  /** What the author typed; `null` while they have not touched the field. */
  const [draft, setDraft] = useState<string | null>(null);
  /** The address just saved, until the insights say what it is now. */
  const [saved, setSaved] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<"save" | "remove" | null>(null);
  const [feedback, setFeedback] = useState<Feedback>(null);
  const pending = useRef<AbortController | null>(null);
  useEffect(() => () => pending.current?.abort(), []);
  useEffect(() => setSaved(undefined), [current]);

  const known = saved !== undefined ? saved : current;
  const value = draft ?? known ?? "";
  const dirty = draft !== null && notifyEmailValue(draft) !== (known ?? null);

  const save = async (email: string | null, action: "save" | "remove") => {
    if (busy) return;
    const controller = new AbortController();
    pending.current = controller;
    setBusy(action);
    setFeedback(null);
    try {
      await updatePage(slug, { notify_email: email }, token, controller.signal);
      setSaved(email);
      setDraft(null);
      setError(null);
      setFeedback({
        tone: "success",
        text: email
          ? `Saved. We'll write to ${email} when your page is first opened and when it is answered.`
          : "Removed. You won't get e-mails about this page.",
      });
    } catch (e) {
      if (controller.signal.aborted) return;
      if (e instanceof ApiError && e.status === 422) {
        const message = e.errors.find((f) => f.field === "notify_email")?.message ?? e.detail;
        setError(message);
      } else if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        setFeedback({ tone: "error", text: "Your edit link is no longer accepted for this page.", tokenProblem: true });
      } else {
        setFeedback({ tone: "error", text: errorMessage(e) });
      }
    } finally {
      if (!controller.signal.aborted) setBusy(null);
    }
  };

  const submit = () => {
    const problem = notifyEmailProblem(value);
    if (problem) {
      setError(problem);
      document.getElementById("notify-email")?.focus();
      return;
    }
    void save(notifyEmailValue(value), notifyEmailValue(value) ? "save" : "remove");
  };

  return (
    <form
      className="notify-form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <NotifyEmailField
        id="notify-email"
        label="E-mail for notifications"
        optional={false}
        hint="Get one e-mail when your page is first opened, and one when it is answered."
        value={value}
        onChange={(next) => {
          setDraft(next);
          setError(null);
          setFeedback(null);
        }}
        error={error}
      />
      <EditFeedbackNotice feedback={feedback} testId="notify-email-feedback" onTokenRejected={onTokenRejected} />
      <div className="button-row">
        <button type="submit" className="button" disabled={!dirty || busy !== null} data-testid="save-notify-email">
          {busy === "save" ? (
            <>
              <Spinner label="Saving" /> Saving…
            </>
          ) : (
            "Save address"
          )}
        </button>
        {known && (
          <button
            type="button"
            className="button button--ghost"
            disabled={busy !== null}
            onClick={() => void save(null, "remove")}
            data-testid="remove-notify-email"
          >
            {busy === "remove" ? "Removing…" : "Stop e-mails"}
          </button>
        )}
      </div>
    </form>
  );
}
