import { useState } from "react";

import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { reportReasonLabel } from "@/config/report-reasons";
import { ApiError } from "@/lib/api-client";
import { useResource } from "@/lib/use-resource";

import { getPageReports } from "../api/get-page-reports";
import { reinstatePage } from "../api/reinstate-page";
import { takeDownPage } from "../api/take-down-page";
import { useAdmin } from "../hooks/admin-context";
import type { PageSummary } from "../types/admin";
import { formatTime } from "../utils/format";
import { consoleErrorText } from "../utils/refusal";
import { ConsoleError } from "./console-error";
import { PageBadges } from "./page-badges";

const REASON_MAX = 500;

type DecisionFormProps = {
  page: PageSummary;
  onDecided: (message: string) => void;
};

/** Take down, or reinstate, always with a reason. */
function DecisionForm({ page, onDecided }: DecisionFormProps) {
  const { token } = useAdmin();
  const down = page.taken_down_at !== null;
  const [reason, setReason] = useState("");
  const [working, setWorking] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const length = Array.from(reason.trim()).length;

  const submit = async () => {
    if (length === 0) {
      setProblem("Please give a reason: it is kept with the decision.");
      return;
    }
    if (length > REASON_MAX) {
      setProblem(`Please keep the reason to ${REASON_MAX} characters.`);
      return;
    }
    setWorking(true);
    setProblem(null);
    try {
      const decision = down
        ? await reinstatePage(token, page.slug, reason.trim())
        : await takeDownPage(token, page.slug, reason.trim());
      setReason("");
      onDecided(
        decision.taken_down
          ? `Taken down by ${decision.by}. Visitors now see that it was taken down.`
          : `Put back up by ${decision.by}. Visitors see it again.`,
      );
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        onDecided(`${error.detail}: someone decided meanwhile. This is the page as it is now.`);
      } else {
        setProblem(consoleErrorText(error));
      }
    } finally {
      setWorking(false);
    }
  };

  return (
    <form
      className="admin-decision"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <div className={`field ${problem ? "field--error" : ""}`}>
        <label className="field-label" htmlFor="admin-moderation-reason">
          {down ? "Why put it back up?" : "Why take it down?"}
        </label>
        <textarea
          id="admin-moderation-reason"
          rows={2}
          value={reason}
          required
          aria-required="true"
          aria-invalid={problem ? true : undefined}
          aria-describedby="admin-moderation-count"
          onChange={(event) => setReason(event.target.value)}
          data-testid="admin-moderation-reason"
        />
        <div className="field-meta">
          <span className="field-hint">Kept in the page's events with your name; the author sees it.</span>
          <span className={`field-count ${length > REASON_MAX ? "is-over" : ""}`} id="admin-moderation-count">
            {length} / {REASON_MAX}
          </span>
        </div>
      </div>
      {problem && (
        <Notice tone="error" testId="admin-moderation-error">
          <p>{problem}</p>
        </Notice>
      )}
      <button
        type="submit"
        className={`button ${down ? "button--primary" : "button--danger"}`}
        disabled={working}
        data-testid={down ? "admin-reinstate" : "admin-take-down"}
      >
        {working ? <Spinner label="Deciding" /> : null}
        {down ? "Reinstate the page" : "Take the page down"}
      </button>
    </form>
  );
}

/** The page now at the slug: its state, the decision to take, and its reports, newest first. */
export function ModerationPanel({ slug, onDecided }: { slug: string; onDecided: () => void }) {
  const { token } = useAdmin();
  const { resource, reload } = useResource((signal) => getPageReports(token, slug, signal), [token, slug]);
  const [feedback, setFeedback] = useState<string | null>(null);

  if (resource.state === "loading") return <Spinner label="Loading the page's reports" />;
  if (resource.state === "failed") {
    if (resource.error instanceof ApiError && resource.error.status === 404) {
      return <p className="muted">No page lives at this slug now: nothing to moderate.</p>;
    }
    return <ConsoleError error={resource.error} onRetry={reload} />;
  }
  const { page, reports } = resource.data;
  return (
    <div
      className="admin-moderation"
      data-testid="admin-moderation"
      data-taken-down={page?.taken_down_at ? "true" : "false"}
    >
      {page && (
        <p className="admin-moderation-state">
          <PageBadges state={page.state} takenDown={page.taken_down_at !== null} reports={page.reports} />{" "}
          {page.taken_down_at && <span className="muted">down since {formatTime(page.taken_down_at)}</span>}
        </p>
      )}
      {feedback && (
        <Notice tone="success" testId="admin-moderation-feedback">
          <p>{feedback}</p>
        </Notice>
      )}
      {page && page.state === "live" && (
        <DecisionForm
          key={page.taken_down_at ?? "up"}
          page={page}
          onDecided={(message) => {
            setFeedback(message || null);
            reload();
            onDecided();
          }}
        />
      )}
      <h3 className="admin-subtitle">Reports</h3>
      {reports.length === 0 ? (
        <p className="muted" data-testid="admin-no-reports">
          No one has reported this page.
        </p>
      ) : (
        <ul className="admin-reports" data-testid="admin-page-reports">
          {reports.map((report) => (
            <li key={report.stream_sequence} data-testid="admin-page-report" data-reason={report.reason}>
              <strong>{reportReasonLabel(report.reason)}</strong>{" "}
              <span className="muted">
                {formatTime(report.reported_at)} · stream sequence {report.stream_sequence}
              </span>
              {report.note && <p className="admin-report-note">{report.note}</p>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
