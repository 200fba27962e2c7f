import type { PageHistoryEvent } from "../api/get-page-history";
import { FIELD_LABELS } from "../utils/content-rules";

const EVENT_NAMES: Record<string, string> = {
  PageCreated: "Created",
  PageUpdated: "Edited",
  PageDeleted: "Deleted",
};

const FIELD_NAMES: Record<string, string> = {
  ...FIELD_LABELS,
  sender_name: "from",
  recipient_name: "to",
  template_id: "design",
  photo: "photo",
  song_url: "song",
  reveal_at: "opening time",
  pin: "PIN",
};

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function describeFields(fields: string[]): string {
  return fields.map((f) => (f === "pin" ? "PIN" : (FIELD_NAMES[f] ?? f).toLowerCase())).join(", ");
}

/** The page's life so far, oldest first: what changed and when. */
export function PageHistory({ events }: { events: PageHistoryEvent[] }) {
  if (events.length === 0) return <p className="muted">No changes recorded yet.</p>;
  return (
    <ol className="history" data-testid="page-history">
      {events.map((event) => {
        const date = new Date(event.occurred_at);
        return (
          <li
            key={event.sequence}
            className="history-item"
            data-testid="history-event"
            data-event-type={event.event_type}
          >
            <span className="history-dot" aria-hidden="true" />
            <span className="history-what">
              {EVENT_NAMES[event.event_type] ?? event.event_type}
              {event.event_type === "PageUpdated" && event.changed_fields.length > 0 && (
                <span className="muted"> — {describeFields(event.changed_fields)}</span>
              )}
            </span>
            <time className="history-when muted" dateTime={event.occurred_at}>
              {Number.isNaN(date.getTime()) ? event.occurred_at : when.format(date)}
            </time>
          </li>
        );
      })}
    </ol>
  );
}
