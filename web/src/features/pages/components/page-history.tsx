import { useEffect, useRef, useState } from "react";

import { FieldChanges } from "@/components/ui/field-changes";
import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { errorMessage } from "@/lib/api-client";

import type { FieldChange, PageHistoryEvent } from "../api/get-page-history";
import { FIELD_LABELS } from "../utils/content-rules";

const EVENT_NAMES: Record<string, string> = {
  PageCreated: "Created",
  PageUpdated: "Edited",
  PageDeleted: "Deleted",
  PageOpened: "First opened",
  PageAnswered: "Answered",
  NotificationsSet: "Notifications changed",
  PhotoSet: "Photo changed",
  PageTakenDown: "Taken down by the moderators",
  PageReinstated: "Put back up by the moderators",
};

const FIELD_NAMES: Record<string, string> = {
  ...FIELD_LABELS,
  slug: "Address",
  sender_name: "From",
  recipient_name: "To",
  template_id: "Design",
  photo: "Photo",
  song_url: "Song",
  reveal_at: "Opening time",
  pin: "PIN",
  notify_email: "Notification address",
  opened: "Opened",
  answer: "Reply",
  reports: "Reports",
  taken_down: "Taken down",
};

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function describeFields(fields: string[]): string {
  return fields.map((f) => (f === "pin" ? "PIN" : (FIELD_NAMES[f] ?? f).toLowerCase())).join(", ");
}

/** An event's changes with the names people read, for the shared change list. */
export function labelChanges(changes: FieldChange[]) {
  return changes.map((c) => ({ ...c, label: FIELD_NAMES[c.field] ?? c.field }));
}

type PageHistoryProps = {
  events: PageHistoryEvent[];
  /** Brings the page back as it was after the event at that stream sequence; absent, no restore is offered. */
  onRestore?: (streamSequence: number) => Promise<void>;
};

/** The page's life so far, oldest first: what changed and when, each change before → after. */
export function PageHistory({ events, onRestore }: PageHistoryProps) {
  const [confirming, setConfirming] = useState<number | null>(null);
  if (events.length === 0) return <p className="muted">No changes recorded yet.</p>;
  const latest = events[events.length - 1];
  return (
    <ol className="history" data-testid="page-history">
      {events.map((event) => {
        const date = new Date(event.occurred_at);
        const restorable = onRestore !== undefined && event !== latest && event.stream_sequence !== undefined;
        return (
          <li
            key={event.sequence}
            className="history-item"
            data-testid="history-event"
            data-event-type={event.event_type}
            data-stream-sequence={event.stream_sequence}
          >
            <span className="history-dot" aria-hidden="true" />
            <div className="history-body">
              <div className="history-line">
                <span className="history-what">
                  {EVENT_NAMES[event.event_type] ?? event.event_type}
                  {event.event_type === "PageUpdated" &&
                    event.changed_fields.length > 0 &&
                    event.changes.length === 0 && (
                      <span className="muted"> — {describeFields(event.changed_fields)}</span>
                    )}
                </span>
                <time className="history-when muted" dateTime={event.occurred_at}>
                  {Number.isNaN(date.getTime()) ? event.occurred_at : when.format(date)}
                </time>
              </div>
              {event.changes.length > 0 && (
                <details className="history-changes">
                  <summary>What changed: {describeFields(event.changes.map((c) => c.field))}</summary>
                  <FieldChanges changes={labelChanges(event.changes)} />
                </details>
              )}
              {restorable &&
                (confirming === event.stream_sequence ? (
                  <RestoreConfirm
                    onConfirm={() => onRestore(event.stream_sequence!)}
                    onCancel={() => setConfirming(null)}
                  />
                ) : (
                  <button
                    type="button"
                    className="link-button history-restore"
                    onClick={() => setConfirming(event.stream_sequence!)}
                    data-testid="restore-version"
                  >
                    Restore this version
                  </button>
                ))}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

type RestoreConfirmProps = { onConfirm: () => Promise<void>; onCancel: () => void };

/** Asks before restoring; says what failed, if it does. */
function RestoreConfirm({ onConfirm, onCancel }: RestoreConfirmProps) {
  const [working, setWorking] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => confirmRef.current?.focus(), []);

  const confirm = async () => {
    setWorking(true);
    setProblem(null);
    try {
      await onConfirm();
    } catch (error) {
      setProblem(errorMessage(error));
      setWorking(false);
    }
  };

  return (
    <div className="confirm" role="group" aria-label="Restore this version" data-testid="restore-confirm">
      <p>
        Bring back the title, message, names, design and song as they were right after this change? It is saved as a new
        change, so you can go back again.
      </p>
      {problem && (
        <Notice tone="error" testId="restore-error">
          <p>{problem}</p>
        </Notice>
      )}
      <div className="button-row">
        <button
          ref={confirmRef}
          type="button"
          className="button button--primary button--small"
          onClick={() => void confirm()}
          disabled={working}
          data-testid="confirm-restore"
        >
          {working ? (
            <>
              <Spinner label="Restoring" /> Restoring…
            </>
          ) : (
            "Yes, restore it"
          )}
        </button>
        <button type="button" className="button button--ghost button--small" onClick={onCancel} disabled={working}>
          Cancel
        </button>
      </div>
    </div>
  );
}
