import { useState } from "react";

import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { ApiError } from "@/lib/api-client";

import { getParked } from "../api/get-parked";
import { retryParked } from "../api/retry-parked";
import { skipParked } from "../api/skip-parked";
import { useAdmin } from "../hooks/admin-context";
import { usePolling } from "../hooks/use-polling";
import type { ParkedEvent } from "../types/admin";
import { formatTime } from "../utils/format";
import { consoleErrorText } from "../utils/refusal";
import { ConsoleError } from "./console-error";

const PARKED_REFRESH_MS = 2000;

type Decision = "retry" | "skip";

/** Retry or skip one parked event, with a reason. */
function DecideForm({
  event,
  decision,
  onDone,
  onCancel,
}: {
  event: ParkedEvent;
  decision: Decision;
  onDone: () => void;
  onCancel: () => void;
}) {
  const { token } = useAdmin();
  const [reason, setReason] = useState("");
  const [working, setWorking] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const id = `parked-reason-${event.consumer}-${event.stream_sequence}`;

  const submit = async () => {
    if (reason.trim() === "") {
      setProblem("Please give a reason: it is kept with the decision.");
      return;
    }
    setWorking(true);
    setProblem(null);
    try {
      const decide = decision === "retry" ? retryParked : skipParked;
      await decide(token, event.consumer, event.stream_sequence, reason.trim());
      onDone();
    } catch (error) {
      setWorking(false);
      setProblem(
        error instanceof ApiError && error.status === 409
          ? "It is not parked any more: someone decided meanwhile."
          : consoleErrorText(error),
      );
    }
  };

  return (
    <form
      className="admin-decision"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="field">
        <label className="field-label" htmlFor={id}>
          {decision === "retry" ? "Why try it again?" : "Why skip it for good?"}
        </label>
        <input
          id={id}
          type="text"
          autoFocus
          value={reason}
          maxLength={500}
          aria-required="true"
          onChange={(e) => setReason(e.target.value)}
          data-testid="admin-parked-reason"
        />
      </div>
      {problem && (
        <Notice tone="error">
          <p>{problem}</p>
        </Notice>
      )}
      <div className="button-row">
        <button
          type="submit"
          className={`button button--small ${decision === "skip" ? "button--danger" : "button--primary"}`}
          disabled={working}
          data-testid="admin-parked-confirm"
        >
          {decision === "retry" ? "Retry it" : "Skip it"}
        </button>
        <button type="button" className="button button--small button--ghost" onClick={onCancel} disabled={working}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The events projectors set aside, and what became of them; retry or skip the parked ones. */
export function ParkedEvents() {
  const { token } = useAdmin();
  const parked = usePolling((signal) => getParked(token, signal), PARKED_REFRESH_MS, [token]);
  const [deciding, setDeciding] = useState<{ key: string; decision: Decision } | null>(null);
  const missing = parked.error instanceof ApiError && parked.error.status === 404;

  return (
    <section className="admin-section" aria-labelledby="admin-parked-title">
      <h2 id="admin-parked-title" className="section-title">
        Parked events
      </h2>
      {parked.error !== null &&
        (missing ? (
          <Notice tone="info">
            <p>This server does not list parked events yet.</p>
          </Notice>
        ) : (
          <ConsoleError error={parked.error} onRetry={parked.refresh} />
        ))}
      {parked.data === null && parked.error === null && <Spinner label="Loading parked events" />}
      {parked.data &&
        (parked.data.length === 0 ? (
          <p className="muted" data-testid="admin-no-parked">
            No event is parked: every projector applied everything it read.
          </p>
        ) : (
          <ul className="admin-parked" data-testid="admin-parked">
            {parked.data.map((event) => {
              const key = `${event.consumer}.${event.stream_sequence}`;
              return (
                <li key={key} className="admin-card" data-testid="admin-parked-event" data-state={event.state}>
                  <p>
                    <span className={`admin-badge admin-badge--${event.state}`}>{event.state}</span>{" "}
                    <strong>
                      <code>{event.consumer}</code> at stream sequence {event.stream_sequence}
                    </strong>{" "}
                    <span className="muted">
                      <code>{event.subject}</code> · {event.attempts} attempts · parked {formatTime(event.parked_at)}
                    </span>
                  </p>
                  <pre className="admin-json admin-error-text">{event.error}</pre>
                  {event.decided_by && (
                    <p className="muted">
                      {event.state === "skipped" ? "Skipped" : "Retry asked"} by {event.decided_by}{" "}
                      {formatTime(event.decided_at)}: {event.decision_reason}
                    </p>
                  )}
                  {event.state === "parked" &&
                    (deciding?.key === key ? (
                      <DecideForm
                        event={event}
                        decision={deciding.decision}
                        onCancel={() => setDeciding(null)}
                        onDone={() => {
                          setDeciding(null);
                          parked.refresh();
                        }}
                      />
                    ) : (
                      <div className="button-row">
                        <button
                          type="button"
                          className="button button--small"
                          onClick={() => setDeciding({ key, decision: "retry" })}
                          data-testid="admin-parked-retry"
                        >
                          Retry…
                        </button>
                        <button
                          type="button"
                          className="button button--small button--ghost"
                          onClick={() => setDeciding({ key, decision: "skip" })}
                          data-testid="admin-parked-skip"
                        >
                          Skip…
                        </button>
                      </div>
                    ))}
                </li>
              );
            })}
          </ul>
        ))}
    </section>
  );
}
