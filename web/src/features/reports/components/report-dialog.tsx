import { useState } from "react";

import { Dialog } from "@/components/ui/dialog";
import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { REPORT_NOTE_MAX, REPORT_REASONS, type ReportReason } from "@/config/report-reasons";
import { ApiError, describeWait, errorMessage } from "@/lib/api-client";

import { reportPage } from "../api/report-page";

type ReportDialogProps = { slug: string; onClose: () => void };

/** Characters as the API counts them (code points). */
function length(text: string): number {
  return Array.from(text).length;
}

function failureText(error: unknown): string {
  if (error instanceof ApiError && error.status === 451) return "This page has been taken down already.";
  if (error instanceof ApiError && error.status === 404) return "This page is no longer here.";
  if (error instanceof ApiError && error.status === 429) {
    const wait = error.retryAfter !== null ? describeWait(error.retryAfter) : "a little while";
    return `You've sent several reports in a short time. Please try again in ${wait}.`;
  }
  return errorMessage(error);
}

/** Tells the moderators about a page: why (one reason), and optionally a few words more. */
export function ReportDialog({ slug, onClose }: ReportDialogProps) {
  const [reason, setReason] = useState<ReportReason | null>(null);
  const [note, setNote] = useState("");
  const [state, setState] = useState<"editing" | "sending" | "sent">("editing");
  const [problem, setProblem] = useState<string | null>(null);
  const noteLength = length(note.trim());
  const tooLong = noteLength > REPORT_NOTE_MAX;

  const send = async () => {
    if (reason === null) {
      setProblem("Please choose what is wrong with this page.");
      return;
    }
    if (tooLong) {
      setProblem(`Please keep the note to ${REPORT_NOTE_MAX} characters.`);
      return;
    }
    setState("sending");
    setProblem(null);
    try {
      const trimmed = note.trim();
      await reportPage(slug, trimmed === "" ? { reason } : { reason, note: trimmed });
      setState("sent");
    } catch (error) {
      setState("editing");
      setProblem(failureText(error));
    }
  };

  if (state === "sent") {
    return (
      <Dialog title="Thank you" onClose={onClose} testId="report-dialog">
        <div className="report-thanks" data-testid="report-sent" role="status">
          <p>Your report reached the moderators. They will look at this page.</p>
          <button type="button" className="button button--primary" onClick={onClose} data-autofocus>
            Close
          </button>
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog title="Report this page" onClose={onClose} testId="report-dialog">
      <form
        className="report-form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void send();
        }}
      >
        <fieldset className="report-reasons">
          <legend className="field-label">What is wrong with it?</legend>
          {REPORT_REASONS.map((option, i) => (
            <label key={option.id} className="report-reason">
              <input
                type="radio"
                name="report-reason"
                value={option.id}
                checked={reason === option.id}
                onChange={() => {
                  setReason(option.id);
                  setProblem(null);
                }}
                data-autofocus={i === 0 ? true : undefined}
                data-testid={`report-reason-${option.id}`}
              />
              {option.label}
            </label>
          ))}
        </fieldset>
        <div className={`field ${tooLong ? "field--error" : ""}`}>
          <label className="field-label" htmlFor="report-note">
            Anything else? <span className="field-optional">(optional)</span>
          </label>
          <textarea
            id="report-note"
            name="report-note"
            rows={3}
            value={note}
            onChange={(event) => setNote(event.target.value)}
            aria-describedby="report-note-count"
            aria-invalid={tooLong ? true : undefined}
            data-testid="report-note"
          />
          <div className="field-meta">
            <span className={`field-count ${tooLong ? "is-over" : ""}`} id="report-note-count">
              {noteLength} / {REPORT_NOTE_MAX}
              <span className="visually-hidden"> characters</span>
            </span>
          </div>
        </div>
        <p className="field-hint">The page's author never sees who reported it, nor what you wrote.</p>
        {problem && (
          <Notice tone="error" testId="report-error">
            <p>{problem}</p>
          </Notice>
        )}
        <div className="button-row">
          <button
            type="submit"
            className="button button--primary"
            disabled={state === "sending"}
            data-testid="send-report"
          >
            {state === "sending" ? (
              <>
                <Spinner label="Sending" /> Sending…
              </>
            ) : (
              "Send report"
            )}
          </button>
          <button type="button" className="button button--ghost" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
